package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/threat-intel/threat-intel/internal/source/filelog"
)

func parseFlags(fs *flag.FlagSet, c *invocation) {}

// parsedLine is one output line of the parse command: an event, or the
// reason its line was skipped.
type parsedLine struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line"`
	Skipped string `json:"skipped,omitempty"`

	// Time is absent for bare CSV bodies, which carry no timestamp.
	Time       string `json:"time,omitempty"`
	Host       string `json:"host,omitempty"`
	Interface  string `json:"interface,omitempty"`
	Rule       string `json:"rule,omitempty"`
	Label      string `json:"label,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Action     string `json:"action,omitempty"`
	Direction  string `json:"direction,omitempty"`
	IPVersion  uint8  `json:"ip_version,omitempty"`
	Protocol   string `json:"protocol,omitempty"`
	ProtoNum   *uint8 `json:"protocol_number,omitempty"`
	Src        string `json:"src,omitempty"`
	Dst        string `json:"dst,omitempty"`
	SrcPort    *int   `json:"src_port,omitempty"`
	DstPort    *int   `json:"dst_port,omitempty"`
	Length     int    `json:"length,omitempty"`
	TCPFlags   string `json:"tcp_flags,omitempty"`
	DataLength *int   `json:"data_length,omitempty"`
}

func runParse(ctx context.Context, c *invocation) int {
	if len(c.args) == 0 && len(c.cfg.FilterlogPaths) == 0 {
		fmt.Fprintln(c.env.Stderr, "threat-intel parse: no input: pass log files, or - to read standard input")
		return exitUsage
	}
	src, err := c.fileSource()
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel parse: %v\n", err)
		return exitUsage
	}

	out := bufio.NewWriter(c.env.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	multiple := len(c.args)+len(c.cfg.FilterlogPaths) > 1
	lines := 0

	err = src.Each(ctx, func(path string, l filelog.Line) error {
		lines++
		row := toParsedLine(l)
		if multiple {
			row.File = path
		}
		return enc.Encode(row)
	})
	if ferr := out.Flush(); err == nil {
		err = ferr
	}

	var partial *filelog.ReadError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &partial) && partial.Read > 0:
		fmt.Fprintf(c.env.Stderr, "threat-intel parse: %v\n", err)
		return exitOK
	default:
		fmt.Fprintf(c.env.Stderr, "threat-intel parse: %v\n", err)
		return exitFail
	}
}

func toParsedLine(l filelog.Line) parsedLine {
	row := parsedLine{Line: l.Number}
	ev := l.Event
	if ev == nil {
		row.Skipped = l.Outcome()
		return row
	}
	if !ev.Time.IsZero() {
		row.Time = ev.Time.Format(time.RFC3339Nano)
	}
	row.Host = ev.Host
	row.Interface = ev.Interface
	row.Rule = ev.Rule
	row.Label = ev.Label
	row.Reason = ev.Reason
	row.Action = ev.Action.String()
	row.Direction = ev.Direction.String()
	row.IPVersion = ev.IPVersion
	row.Protocol = ev.ProtocolName
	num := ev.ProtocolNum
	row.ProtoNum = &num
	row.Src = ev.Src.String()
	row.Dst = ev.Dst.String()
	row.Length = ev.Length
	row.TCPFlags = ev.TCPFlags
	if ev.HasPorts {
		sp, dp := int(ev.SrcPort), int(ev.DstPort)
		row.SrcPort, row.DstPort = &sp, &dp
		dl := ev.DataLength
		row.DataLength = &dl
	}
	return row
}
