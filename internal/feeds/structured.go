package feeds

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// addressColumns are header names of the address column, compared
// case-insensitively. abuse.ch Feodo calls it dst_ip.
var addressColumns = []string{"dst_ip", "dstip", "ip", "ip_address", "ipaddress", "ip_addr", "address", "addr", "cidr", "network", "prefix"}

// parseCSV reads comma-separated rows. '#' lines are comments. A first row
// with a known address column name (dst_ip, ip, cidr, ...) is the header
// and selects that column. Otherwise the first field of the first data row
// that holds an address selects the column, so a row like
// "192.0.2.1,443,reason" (abuse.ch SSLBL) needs no header, and a header row
// with unknown names is skipped. A commented column line such as
// "# DstIP,DstPort" is ignored, because SSLBL's does not match its rows.
func (p *parser) parseCSV() error {
	column := -1
	var fields [][]byte
	for {
		line, tooLong, ok := p.lines.next()
		if !ok {
			return nil
		}
		if tooLong {
			p.skip(tooLongReason)
			continue
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] == '#' {
			p.comment(line)
			continue
		}

		var err error
		fields, err = splitCSV(line, fields[:0])
		if err != nil {
			p.skip(err.Error())
			continue
		}
		if column < 0 {
			if column = headerColumn(fields); column >= 0 {
				continue
			}
			if column = dataColumn(fields); column < 0 {
				p.skip("no field holds an address, and the row is not a header with a dst_ip, ip or cidr column")
				continue
			}
		}
		if column >= len(fields) {
			p.skip(fmt.Sprintf("row has %d fields, but the address is in field %d", len(fields), column+1))
			continue
		}
		p.parseToken(bytes.TrimSpace(fields[column]))
	}
}

// headerColumn returns the index of the address column named in a header
// row, or -1.
func headerColumn(fields [][]byte) int {
	for i, f := range fields {
		name := bytes.TrimSpace(f)
		for _, want := range addressColumns {
			if bytes.EqualFold(name, []byte(want)) {
				return i
			}
		}
	}
	return -1
}

// dataColumn returns the index of the first field that holds an address,
// or -1.
func dataColumn(fields [][]byte) int {
	for i, f := range fields {
		if _, err := parseEntry(bytes.TrimSpace(f)); err == nil {
			return i
		}
	}
	return -1
}

// splitCSV appends the fields of one CSV line to dst. A field may be
// enclosed in double quotes, and the quotes are removed. Doubled quotes
// inside a quoted field are kept as written, because neither addresses nor
// column names contain quotes. Quoted fields that span lines are not
// supported.
func splitCSV(line []byte, dst [][]byte) ([][]byte, error) {
	for {
		field := bytes.TrimLeft(line, " \t")
		if len(field) == 0 || field[0] != '"' {
			value, rest, found := bytes.Cut(line, []byte{','})
			dst = append(dst, value)
			if !found {
				return dst, nil
			}
			line = rest
			continue
		}

		// Find the closing quote: one not followed by another quote.
		end := -1
		for i := 1; i < len(field); i++ {
			if field[i] != '"' {
				continue
			}
			if i+1 < len(field) && field[i+1] == '"' {
				i++
				continue
			}
			end = i
			break
		}
		if end < 0 {
			return dst, errors.New("unterminated quoted field")
		}
		dst = append(dst, field[1:end])
		after := bytes.TrimLeft(field[end+1:], " \t")
		if len(after) == 0 {
			return dst, nil
		}
		if after[0] != ',' {
			return dst, fmt.Errorf("unexpected %s after a quoted field", quote(after))
		}
		line = after[1:]
	}
}

// spamhausRecord is one line of Spamhaus DROP JSON: a record with cidr,
// sblid and rir, or the closing metadata object with the record count.
type spamhausRecord struct {
	CIDR    *string `json:"cidr"`
	Type    string  `json:"type"`
	Records *int    `json:"records"`
}

// parseSpamhausJSON reads one JSON object per line. Records carry the
// network in "cidr". The object with "type":"metadata" ends the file and
// gives the record count in "records".
func (p *parser) parseSpamhausJSON() error {
	for {
		line, tooLong, ok := p.lines.next()
		if !ok {
			return nil
		}
		if tooLong {
			p.skip(tooLongReason)
			continue
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' {
			if isComment(line) {
				p.comment(line)
				continue
			}
			p.skip("not a JSON object: want one object per line")
			continue
		}

		var rec spamhausRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			p.skip(fmt.Sprintf("invalid JSON: %v", err))
			continue
		}
		if rec.Type == "metadata" {
			if rec.Records != nil {
				p.res.Declared = *rec.Records
			}
			continue
		}
		if rec.CIDR == nil {
			p.skip(`record has no "cidr"`)
			continue
		}
		p.parseToken(bytes.TrimSpace([]byte(*rec.CIDR)))
	}
}
