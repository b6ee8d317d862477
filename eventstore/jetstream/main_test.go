package jetstream_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/partyledger/partyledger/eventstore/jetstream/embedded"
)

// envNode, when set, makes the test binary run one embedded NATS server
// with the JSON embedded.Config it holds, instead of the tests: the cluster
// test starts its nodes as child processes so that it can kill -9 one.
const envNode = "PARTYLEDGER_TEST_NATS_NODE"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(envNode); cfg != "" {
		runNode(cfg)
		return
	}
	os.Exit(m.Run())
}

// runNode runs a server until the process is killed.
func runNode(cfg string) {
	var c embedded.Config
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fmt.Fprintln(os.Stderr, "node config:", err)
		os.Exit(2)
	}
	s, err := embedded.Start(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		os.Exit(1)
	}
	fmt.Println("READY", s.ClientURL())
	s.WaitForShutdown()
}
