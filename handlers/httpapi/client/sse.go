package client

import (
	"bufio"
	"io"
	"strings"
)

// ReadSSE calls fn with each event of a Server-Sent Events stream until it
// ends (nil), a read fails or fn fails. Comments are skipped; the id carries
// over to later events, as the format says.
func ReadSSE(r io.Reader, fn func(Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var id string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if len(data) > 0 {
				if err := fn(Event{ID: id, Data: strings.Join(data, "\n")}); err != nil {
					return err
				}
			}
			data = nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id = value
		case "data":
			data = append(data, value)
		}
	}
	return sc.Err()
}
