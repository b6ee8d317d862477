// Package importtest makes spreadsheets for the importer's tests and
// benchmarks, and for the import benchmarks of the command that serves it.
package importtest

import (
	"bytes"
	"fmt"

	"github.com/partyledger/partyledger/domain"
)

// RegisterCSV is a register of parties×reqs rows in the usual template, as
// a semicolon-separated CSV: each party's columns repeated on each of its
// requirement rows. 1,000×10 is the 10,000-row benchmark.
func RegisterCSV(parties, reqs int) []byte {
	var b bytes.Buffer
	b.WriteString("Interested party;Type;Category;Influence;Interest;Needs and expectations;Kind;Source type;Source;Addressed;How addressed;Owner;Priority;Next review\r\n")
	levels := []string{"Low", "Medium", "High"}
	for p := range parties {
		for q := range reqs {
			fmt.Fprintf(&b, "Party %04d;%s;%s;%s;%d;Requirement %02d of party %04d;%s;contract;MSA §%d.%d;%s;Control set %d;Owner %d;%s;%02d/%02d/2026\r\n",
				p, []string{"Internal", "External"}[p%2], domain.Categories[p%len(domain.Categories)], levels[p%3], 1+p%5,
				q, p, domain.Kinds[q%2], p, q, []string{"Yes", "No", ""}[q%3], q, p%50, domain.Priorities[q%4], 1+q%28, 1+p%12)
		}
	}
	return b.Bytes()
}
