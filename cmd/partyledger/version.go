package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/partyledger/partyledger/eventstore/sqlite"
)

func init() { featureCommands = append(featureCommands, newVersionCmd) }

// commit is the source revision, set at link time
// (-ldflags "-X main.commit=$(git rev-parse HEAD)") when the build has no
// VCS stamp of its own.
var commit string

// versionInfo is what "partyledger version" prints.
type versionInfo struct {
	Module        string `json:"module"`
	Version       string `json:"version"`
	Commit        string `json:"commit"`
	Modified      bool   `json:"modified,omitempty"`
	Go            string `json:"go"`
	StoreSchema   string `json:"store_schema"`
	OpenAPIFormat string `json:"openapi"`
}

func buildVersion() versionInfo {
	v := versionInfo{Module: "github.com/partyledger/partyledger", Version: "(devel)", Commit: commit,
		Go: runtime.Version(), StoreSchema: sqlite.SchemaVersion(), OpenAPIFormat: "3.1.0"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			v.Module = bi.Main.Path
		}
		if bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and store schema version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildVersion()
			if asJSON {
				return printJSON(cmd.OutOrStdout(), v)
			}
			mod := ""
			if v.Modified {
				mod = " (modified)"
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "partyledger %s\nmodule        %s\ncommit        %s%s\ngo            %s\nstore schema  %s\nopenapi       %s\n",
				v.Version, v.Module, v.Commit, mod, v.Go, v.StoreSchema, v.OpenAPIFormat)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
