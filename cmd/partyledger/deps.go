package main
import (
 _ "github.com/mattn/go-sqlite3"
 _ "github.com/google/uuid"
 _ "github.com/spf13/cobra"
 _ "github.com/google/go-cmp/cmp"
 _ "github.com/nats-io/nats.go"
 _ "github.com/ThreeDotsLabs/watermill"
)
func main(){}
