package jetstream_test

import (
	"os"
	"testing"

	"github.com/partyledger/partyledger/eventstore/jetstream/embedded/clustertest"
)

// TestMain runs the tests, or one NATS server of a cluster when the
// cluster test started this binary as its node (see clustertest).
func TestMain(m *testing.M) {
	clustertest.RunNodeIfAsked()
	os.Exit(m.Run())
}
