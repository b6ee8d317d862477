// Command partyledger keeps an organisation's ISO/IEC 27001:2022 register of
// interested parties as an append-only, hash-chained event log, and serves
// the register, the audit trail and the clause 9.3.2 c) change feed.
//
// Run "partyledger --help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "partyledger:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a given exit code and no further message
// (the command has already said what went wrong).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
