package sqlite

import (
	"io/fs"
	"path"
	"slices"
	"strings"
)

// SchemaVersion names the event log schema this build writes: the last of
// its embedded migrations, such as "0001_events". A database opened by
// this build is migrated up to it.
func SchemaVersion() string {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		return "unknown"
	}
	slices.Sort(names)
	return strings.TrimSuffix(path.Base(names[len(names)-1]), ".sql")
}
