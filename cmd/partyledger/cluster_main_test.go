package main

import (
	"os"
	"testing"

	"github.com/partyledger/partyledger/eventstore/jetstream/embedded/clustertest"
)

// TestMain runs the tests, or one NATS server of a cluster when a cluster
// test started this binary as its node (see clustertest and cluster_test.go).
func TestMain(m *testing.M) {
	clustertest.RunNodeIfAsked()
	os.Exit(m.Run())
}
