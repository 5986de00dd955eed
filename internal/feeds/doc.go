// Package feeds loads IP blocklist feeds from files and URLs, keeps them
// fresh, and reports which feeds list an address.
//
// # Configuration
//
// FEEDS lists the feeds, one per line or separated by commas:
//
//	name=location;option=value;option=value
//
// name identifies the feed in reports, metrics and logs (letters, digits,
// '.', '_' and '-'). location is an http:// or https:// URL, or a file
// path. A ',' or ';' inside a URL must be written as %2C or %3B. Blank lines
// and lines that start with '#' are ignored, so the value can also be kept
// in a file. The options are:
//
//	kind=malicious  an address on the list is a bad actor and gains points
//	                in the composite score (the default)
//	kind=info       the list only tags an address, for example Tor exits
//	refresh=6h      how often to fetch the feed again, as a Go duration:
//	                default 6h for URLs and 5m for files, minimum 15m for
//	                URLs and 10s for files
//	format=auto     the layout: auto (the default), list, spamhaus-json,
//	                csv, tor-exit or dshield
//
// For example:
//
//	firehol=https://iplists.firehol.org/files/firehol_level1.netset;refresh=1h
//	drop=https://www.spamhaus.org/drop/drop_v4.json;refresh=12h
//	tor=https://check.torproject.org/torbulkexitlist;kind=info;refresh=1h
//	local=/etc/threat-intel/blocked.txt
//
// # Formats
//
// The list format reads one address, CIDR prefix or range per line, with
// '#', ';' or "//" comments. It covers FireHOL netsets, Spamhaus
// DROP/EDROP/DROPv6 text ("CIDR ; SBLnnn"), abuse.ch text lists, Emerging
// Threats, CINS, blocklist.de, the Tor bulk exit list and the AbuseIPDB
// plaintext blacklist. The other formats are Spamhaus DROP JSON, CSV with
// an address column (abuse.ch Feodo and SSLBL), the Tor exit-addresses
// format and DShield block.txt. Auto-detection reads the first 8 KiB of the
// content, and the file extension decides only when those hold no data.
//
// Every format accepts IPv4 and IPv6 in the same file, a UTF-8 byte-order
// mark and CRLF line ends. A prefix written with host bits set is masked.
// Content that starts like an HTML page is rejected, and an empty list is
// valid.
//
// # Refreshing
//
// URLs are fetched with If-None-Match and If-Modified-Since, so an
// unchanged list costs a 304 response and no body. Files are read again when
// their size or modification time changes. A failed refresh keeps the
// previous list: an HTTP error, a page in place of a list, a body over the
// size limit, or a list that shrank by more than 90%. Such a small list is
// accepted when three downloads in a row return it unchanged.
//
// NOTE: lists are held in memory only, so after a restart a feed has no
// list until its first successful refresh.
package feeds
