// Command plload is a load generator for a running partyledger server: N
// concurrent clients on keep-alive connections send reads and durable
// writes, and plload prints the throughput and the p50/p99 latency of each
// kind. Every run is bounded by -duration and, optionally, -requests.
//
//	partyledger serve --db /tmp/load.db --rate-limit 0 &
//	plload -url http://127.0.0.1:8080 -token plt_... -clients 64 -duration 10s
//
// It first creates -parties parties (one requirement each), then runs each
// phase of -phases in turn, each after recording a management review: "read" (reads only),
// "write" (durable writes only) or "mixed" (-write-ratio of writes). See
// package cmd/internal/load for the request mix. Start serve with
// --rate-limit 0, or the per-token rate limit answers most requests with 429.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/partyledger/partyledger/cmd/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "plload:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("plload", flag.ContinueOnError)
	var cfg load.Config
	fs.StringVar(&cfg.BaseURL, "url", "http://127.0.0.1:8080", "base URL of the server (loopback only)")
	fs.StringVar(&cfg.Token, "token", os.Getenv("PARTYLEDGER_TOKEN"), "editor or admin token (env PARTYLEDGER_TOKEN)")
	fs.IntVar(&cfg.Clients, "clients", 64, "concurrent clients")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of each phase")
	fs.IntVar(&cfg.Requests, "requests", 0, "at most this many requests per phase (0: bounded by -duration only)")
	fs.IntVar(&cfg.Parties, "parties", 0, "parties to create first (default: 2 per client)")
	writeRatio := fs.Float64("write-ratio", 0.2, "share of writes in the mixed phase")
	phases := fs.String("phases", "read,write", "phases to run in order: read, write, mixed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Token == "" {
		return errors.New("-token is required (or PARTYLEDGER_TOKEN)")
	}
	if err := loopbackOnly(cfg.BaseURL); err != nil {
		return err
	}
	if cfg.Duration > time.Hour {
		return errors.New("-duration is at most 1h")
	}
	var ratios []float64
	for _, p := range strings.Split(*phases, ",") {
		switch strings.TrimSpace(p) {
		case "read":
			ratios = append(ratios, 0)
		case "write":
			ratios = append(ratios, 1)
		case "mixed":
			ratios = append(ratios, *writeRatio)
		default:
			return fmt.Errorf("unknown phase %q (want read, write or mixed)", p)
		}
	}

	t0 := time.Now()
	fx, err := load.Setup(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "setup: %d parties in %s; %d clients, phases of %s\n", len(fx.Parties),
		time.Since(t0).Round(time.Millisecond), max(cfg.Clients, 1), cfg.Duration)
	for i, r := range ratios {
		cfg.WriteRatio = r
		res, err := load.Run(ctx, cfg, fx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\n== phase %s (write ratio %.2f)\n%s", strings.Split(*phases, ",")[i], r, res)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}
