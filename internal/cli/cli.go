// Package cli implements the threat-intel commands: it turns arguments, the
// environment and a .env file into a configuration, runs the command and
// returns its exit status. The main package only wires it to the process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/threat-intel/threat-intel/internal/config"
	"github.com/threat-intel/threat-intel/internal/service"
	"github.com/threat-intel/threat-intel/internal/version"
)

// Env is the process context a command runs in, injectable for tests.
type Env struct {
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Environ []string // os.Environ form
	DotEnv  string   // path of the .env file; empty reads none
	// Now is the clock; nil means time.Now. It dates the report and anchors
	// the year of BSD syslog timestamps.
	Now func() time.Time
}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and failed
	exitUsage = 2 // bad arguments or configuration
)

type command struct {
	name    string
	summary string
	usage   string // argument synopsis after the command name
	run     func(ctx context.Context, c *invocation) int
	// flags adds the command's own flags beyond the shared configuration.
	flags func(fs *flag.FlagSet, c *invocation)
}

// invocation is one command run: its configuration, arguments and output.
type invocation struct {
	env  Env
	cfg  *config.Config
	args []string
	log  *slog.Logger

	// Command-specific flags.
	json     bool
	outbound bool
	family   string
	diff     bool
	until    string
}

var commands []command

func init() {
	commands = []command{
		{name: "report", summary: "run one cycle on the configured source and print the report", usage: "[--filterlog FILE…] [flags] [FILE…]", run: runReport, flags: reportFlags},
		{name: "parse", summary: "parse firewall log lines and print each as JSON, for checking what the parser sees", usage: "[flags] FILE… (- for stdin)", run: runParse, flags: parseFlags},
		{name: "blocklist", summary: "print the blocklist the service serves at /api/blocklist.txt, or with --diff what the next cycle would change", usage: "[--family ipv4|ipv6] [--diff] [FILE…]", run: runBlocklist, flags: blocklistFlags},
		{name: "healthcheck", summary: "ask the running service on LISTEN_ADDR for /health; exit 0 when it answers", usage: "[flags]", run: runHealthcheck},
		{name: "lookup", summary: "enrich and score the given addresses, cache first, and print one row each", usage: "[flags] IP…", run: runLookup, flags: lookupFlags},
		{name: "serve", summary: "run the service: a cycle at start-up and every ENRICHMENT_INTERVAL_SECONDS, the HTTP API and /metrics", usage: "[flags]", run: runServe},
		{name: "version", summary: "print the version, commit and Go version", run: runVersion},
	}
}

// Run runs the command named by args[0] and returns the exit status.
func Run(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		printUsage(env.Stderr)
		return exitUsage
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return Run(ctx, []string{args[1], "--help"}, env)
		}
		printUsage(env.Stdout)
		return exitOK
	}
	if args[0] == "--version" {
		args[0] = "version"
	}

	var cmd *command
	for i := range commands {
		if commands[i].name == args[0] {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(env.Stderr, "threat-intel: unknown command %q\n\n", args[0])
		printUsage(env.Stderr)
		return exitUsage
	}

	if env.Now == nil {
		env.Now = time.Now
	}
	inv := &invocation{env: env}
	fs := flag.NewFlagSet("threat-intel "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: threat-intel %s %s\n\n%s.\n\nFlags (each also read from the named environment variable or .env):\n", cmd.name, cmd.usage, capitalize(cmd.summary))
		fs.PrintDefaults()
	}
	if cmd.flags != nil {
		cmd.flags(fs, inv)
	}
	settings := config.Register(fs)

	rest, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	inv.args = rest

	cfg, err := settings.Load(env.Environ, env.DotEnv)
	if err != nil {
		fmt.Fprintf(env.Stderr, "threat-intel: configuration:\n%s\n", indent(err.Error()))
		return exitUsage
	}
	inv.cfg = cfg
	inv.log = newLogger(env.Stderr, cfg)
	return cmd.run(ctx, inv)
}

// parseInterleaved parses flags that may come before, between or after
// positional arguments, as in `report sample.log --json`. A "--" ends flag
// parsing.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "threat-intel: firewall threat intelligence for pfSense and OPNsense\n\nUsage: threat-intel COMMAND [flags] [arguments]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		names = append(names, c.name)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, c := range commands {
			if c.name == n {
				fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
			}
		}
	}
	fmt.Fprint(w, "\nRun 'threat-intel COMMAND --help' for the flags of a command.\n")
}

func runVersion(_ context.Context, c *invocation) int {
	fmt.Fprintf(c.env.Stdout, "threat-intel %s\ncommit %s\n%s\n", version.Version, version.Commit(), version.GoVersion())
	return exitOK
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// osEnv returns the real process environment.
func osEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ(), DotEnv: ".env"}
}

// Main runs the command line of the current process.
func Main(ctx context.Context) int {
	return Run(ctx, os.Args[1:], osEnv())
}

// pipelineOptions returns the options every scoring command opens its
// pipeline with. Their metrics go to a registry that is never scraped.
func (c *invocation) pipelineOptions(storeOptional bool) service.PipelineOptions {
	return service.PipelineOptions{
		Config:        c.cfg,
		Logger:        c.log,
		Now:           c.env.Now,
		Registerer:    prometheus.NewRegistry(),
		StoreOptional: storeOptional,
	}
}
