// Package version reports the build's version and commit. Release builds set
// Version with -ldflags "-X github.com/threat-intel/threat-intel/internal/version.Version=v1.2.3".
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is the release version, "dev" for a build from a work tree.
var Version = "dev"

// commit is the revision set at link time by the Makefile. Builds without
// it fall back to what the Go toolchain recorded.
var commit = ""

// Commit returns the revision the binary was built from: the one set at
// link time, else the VCS revision recorded by the Go toolchain with a
// "-dirty" suffix when the work tree had changes, or "unknown".
func Commit() string {
	if commit != "" {
		return commit
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "unknown"
	}
	if modified == "true" {
		rev += "-dirty"
	}
	return rev
}

// UserAgent is the User-Agent header sent to every outside service.
func UserAgent() string {
	return "threat-intel/" + Version + " (+https://github.com/threat-intel/threat-intel)"
}

// GoVersion returns the Go version the binary was built with.
func GoVersion() string { return runtime.Version() }
