package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/partyledger/partyledger/cmd/internal/load"
)

// BenchmarkOnePartyGET measures the one-party read (GET /parties/{id}, the
// register's point read) of the real server, started in-process on
// loopback, against a bare net/http handler answering a fixed 1 KiB JSON
// body (startRawServer), both driven in the same run by the same load
// generator: 64 keep-alive clients, b.N requests each, on 128 parties. The
// bare handler runs first, then the server, in every run, so that both see
// much the same background load. Reports req/s, p50-ms, p99-ms, raw-req/s
// and x-raw (the server's rate over the bare handler's; issue 17's target
// is >= 0.4). Because the clients run in the same process, it also reports
// the process's CPU time per request of each phase (cpu-us/req,
// raw-cpu-us/req: server and clients together) and x-raw-cpu, the bare
// phase's CPU per request over the server's: on a shared machine, where
// the rates say how busy the machine was, the CPU says what a request
// costs.
//
//	go test -run '^$' -bench OnePartyGET -benchtime 20000x -count 3 ./cmd/partyledger/
func BenchmarkOnePartyGET(b *testing.B) {
	s := MustRunServe(b, "", unlimited)
	ctx := context.Background()
	cfg := load.Config{BaseURL: s.URL, Token: s.Token, Clients: 64, Duration: 5 * time.Minute,
		PartyReadsOnly: true, Requests: b.N}
	rawCfg := cfg
	rawCfg.BaseURL = startRawServer(b)
	fx, err := load.Setup(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.StopTimer()
	c0 := processCPU(b)
	rawRes, err := load.Run(ctx, rawCfg, fx)
	if err != nil {
		b.Fatal(err)
	}
	rawCPU := processCPU(b) - c0
	b.StartTimer()
	c0 = processCPU(b)
	res, err := load.Run(ctx, cfg, fx)
	if err != nil {
		b.Fatal(err)
	}
	cpu := processCPU(b) - c0
	b.StopTimer()
	st, rawSt := res.Reads, rawRes.Reads
	if st.Errors > 0 || rawSt.Errors > 0 || st.Requests == 0 || rawSt.Requests == 0 {
		b.Fatalf("%d errors (%s) in %d reads; raw %d (%s)", st.Errors, st.FirstError, st.Requests, rawSt.Errors, rawSt.FirstError)
	}
	perReq := func(d time.Duration, n int) float64 { return float64(d.Microseconds()) / float64(n) }
	b.ReportMetric(st.PerSec, "req/s")
	b.ReportMetric(float64(st.P50)/1e6, "p50-ms")
	b.ReportMetric(float64(st.P99)/1e6, "p99-ms")
	b.ReportMetric(rawSt.PerSec, "raw-req/s")
	b.ReportMetric(st.PerSec/rawSt.PerSec, "x-raw")
	b.ReportMetric(perReq(cpu, st.Requests), "cpu-us/req")
	b.ReportMetric(perReq(rawCPU, rawSt.Requests), "raw-cpu-us/req")
	b.ReportMetric(perReq(rawCPU, rawSt.Requests)/perReq(cpu, st.Requests), "x-raw-cpu")
}

// processCPU is the CPU time (user + system) the test process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
