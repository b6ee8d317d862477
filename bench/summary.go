//go:build ignore

// Summary prints the medians of a `go test -bench` output file next to the
// targets of issue 9, one line per target, plus every other metric:
//
//	go run bench/summary.go bench/out/<time>.txt
//
// bench/run calls it after benchstat. It is a build-ignored file, not part
// of any package.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// target is one figure of the issue: the median of metric of benchmark
// must be at least (or at most) value.
type target struct {
	bench, metric string
	atLeast       bool
	value         float64
	what          string
}

var targets = []target{
	{"Append/concurrent64", "x-raw", true, 3, "64 concurrent appends >= 3x raw one-event-per-transaction"},
	{"Append/bulk1000", "x-raw", true, 0.7, "bulk import >= 70% of raw 1000-per-transaction"},
	{"RebuildAtScale", "x-raw-read", true, 0.5, "rebuild >= 50% of the raw read-all rate"},
	{"RebuildAtScale", "s/1M-events", false, 10, "rebuild of 1M events < 10 s"},
	{"QueriesAtScale/changes-since-last-review", "p99-ms", false, 20, "change feed since last review p99 <= 20 ms"},
	{"QueriesAtScale/changes-since-last-review-net", "p99-ms", false, 20, "net change feed since last review p99 <= 20 ms"},
	{"QueriesAtScale/changes-last-1000", "p99-ms", false, 20, "change feed of the last 1000 events p99 <= 20 ms"},
	{"QueriesAtScale/register", "p99-ms", false, 20, "whole register p99 <= 20 ms"},
	{"QueriesAtScale/register-category", "p99-ms", false, 20, "register by category p99 <= 20 ms"},
	{"QueriesAtScale/parties", "p99-ms", false, 20, "party list p99 <= 20 ms"},
	{"QueriesAtScale/party", "p99-ms", false, 20, "one party p99 <= 20 ms"},
	{"HTTP/reads", "req/s", true, 5000, "HTTP reads >= 5k/s"},
	{"HTTP/writes", "req/s", true, 2000, "HTTP durable writes >= 2k/s"},
	{"PeakRSS", "serve-peak-MB", false, 150, "peak RSS serving the large log <= 150 MB"},
}

var lineRe = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run bench/summary.go FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	vals := map[string]map[string][]float64{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := lineRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name := m[1]
		if vals[name] == nil {
			vals[name] = map[string][]float64{}
			order = append(order, name)
		}
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			vals[name][fields[i+1]] = append(vals[name][fields[i+1]], v)
		}
	}

	fmt.Printf("%-62s %12s %10s  %s\n", "target", "median", "runs", "")
	for _, t := range targets {
		vs := vals[t.bench][t.metric]
		if len(vs) == 0 {
			fmt.Printf("%-62s %12s %10s  %s\n", t.what, "-", "0", "not run")
			continue
		}
		med := median(vs)
		ok := med <= t.value
		if t.atLeast {
			ok = med >= t.value
		}
		status := "met"
		if !ok {
			status = "MISSED"
		}
		fmt.Printf("%-62s %12s %10d  %s (%s %s)\n", t.what, num(med), len(vs), status, t.bench, t.metric)
	}
	fmt.Println()
	fmt.Printf("%-46s %-18s %12s\n", "benchmark", "metric", "median")
	for _, name := range order {
		units := make([]string, 0, len(vals[name]))
		for u := range vals[name] {
			units = append(units, u)
		}
		slices.Sort(units)
		for _, u := range units {
			fmt.Printf("%-46s %-18s %12s\n", name, u, num(median(vals[name][u])))
		}
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func num(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}
