package main

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// The serving process's memory budget (docs/security.md, "Memory"): lists
// are paged and streamed and the read pools are capped, so the live heap
// stays small (15–25 MB under eight clients pulling every list of a
// 50k-event log); what grows the process under load is garbage between
// collections, which with the default GOGC may reach twice the live heap.
// A soft limit makes the collector run earlier near it instead of letting
// the process grow, so a viewer cannot push the server's memory up by
// asking fast.
const (
	envMemoryLimit        = "PARTYLEDGER_MEMORY_LIMIT"
	defaultMemoryLimitMiB = 40
)

// setMemoryLimit sets the Go runtime's soft memory limit to mib MiB, unless
// mib is 0 or GOMEMLIMIT is set (the runtime has then read it already).
func setMemoryLimit(mib int, logger *slog.Logger) {
	if mib <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(int64(mib) << 20)
	logger.Debug("memory limit set", "limit_mib", mib)
}
