package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// versionString describes this build from its build info: the module
// version (a tag when built with `go install …@vX`), else the VCS revision
// and time it was built from, and the Go version.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "autostop (unknown build)"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	version := info.Main.Version
	if version == "" || version == "(devel)" {
		version = "devel"
	}
	var parts []string
	if rev := settings["vcs.revision"]; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if settings["vcs.modified"] == "true" {
			rev += "+dirty"
		}
		parts = append(parts, "commit "+rev)
	}
	if t := settings["vcs.time"]; t != "" {
		parts = append(parts, "built from a tree of "+t)
	}
	parts = append(parts, info.GoVersion, runtime.GOOS+"/"+runtime.GOARCH)

	return fmt.Sprintf("autostop %s (%s)", version, strings.Join(parts, ", "))
}

func (c *CLI) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this build",
		Long: `Prints the version of this autostop build: the module version (a release tag
when installed with 'go install github.com/autostop/autostop/cmd/autostop@vX.Y.Z'),
the commit and commit time it was built from, and the Go version.
'autostop --version' prints the same.`,
		Example: "  autostop version",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(c.Stdout, versionString())
			return nil
		},
	}
}
