package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/checkpoint"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/eventstore/verify"
	"github.com/partyledger/partyledger/handlers/diagrams"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/projections"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Query the audit trail and export it for auditors",
		Long: `audit reads the event log directly (no server needed; serve may keep running):
events filtered like GET /api/v1/events, the history of a party, and an export pack that
an auditor can verify on their own.`,
	}
	cmd.AddCommand(newAuditEventsCmd(), newAuditHistoryCmd(), newAuditExportCmd())
	return cmd
}

// eventFlags are the filters of "audit events".
type eventFlags struct {
	db                                           string
	party, requirement, stream, typ, actor, trig string
	from, to                                     string
	after                                        int64
	limit                                        int
	out                                          outputFlags
}

func newAuditEventsCmd() *cobra.Command {
	var f eventFlags
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List events of the log, filtered (every filter combines with AND)",
		Example: `  partyledger audit events --party 0193… --format table
  partyledger audit events --actor alice --from 2026-01-01 --output alice.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditEvents(cmd.Context(), f, cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.db, "db", envOr(envDB, "./partyledger.db"), "event log SQLite file (env "+envDB+")")
	fs.StringVar(&f.party, "party", "", "events of this party (its stream, requirements included)")
	fs.StringVar(&f.requirement, "requirement", "", "events about this requirement")
	fs.StringVar(&f.stream, "stream", "", "events of this stream, such as review-<id>")
	fs.StringVar(&f.typ, "type", "", "events of this type, such as requirement.revised")
	fs.StringVar(&f.actor, "actor", "", "events by this actor")
	fs.StringVar(&f.trig, "trigger", "", "events with this trigger, such as audit_finding")
	fs.StringVar(&f.from, "from", "", "events at or after this date or RFC 3339 time")
	fs.StringVar(&f.to, "to", "", "events at or before this date (the whole day) or RFC 3339 time")
	fs.Int64Var(&f.after, "after", 0, "events after this position")
	fs.IntVar(&f.limit, "limit", 0, "at most this many events (0: all)")
	f.out.register(fs) // jsonl: one envelope per line, hashable as exported
	return cmd
}

func (f eventFlags) filter() (projections.EventFilter, error) {
	ef := projections.EventFilter{Party: f.party, Requirement: f.requirement, Stream: f.stream,
		Type: f.typ, Actor: f.actor, Trigger: f.trig, After: f.after}
	for _, p := range []struct {
		name, v string
		dst     *time.Time
	}{{"--from", f.from, &ef.From}, {"--to", f.to, &ef.To}} {
		if p.v == "" {
			continue
		}
		m, err := parseMoment(p.name, p.v, timeForms, p.name == "--to")
		if err != nil {
			return ef, err
		}
		*p.dst = m.time
	}
	if f.limit < 0 {
		return ef, errors.New("--limit must be >= 0")
	}
	if err := ef.Validate(); err != nil {
		return ef, err
	}
	return ef, nil
}

// runAuditEvents scans the log with [projections.EventFilter.Matches], the
// definition the API's index implements.
func runAuditEvents(ctx context.Context, f eventFlags, stdout io.Writer) error {
	if _, err := f.out.resolve(stdout); err != nil {
		return err
	}
	ef, err := f.filter()
	if err != nil {
		return err
	}
	store, err := openLog(ctx, f.db)
	if err != nil {
		return err
	}
	defer store.Close()
	var evs []eventstore.Event
	more := false
	for ev, err := range verify.FromStore(ctx, store, ef.After, 0) {
		if err != nil {
			return err
		}
		if !ef.Matches(&ev) {
			continue
		}
		if f.limit > 0 && len(evs) == f.limit {
			more = true
			break
		}
		evs = append(evs, ev)
	}
	l := listOf[eventstore.Event]{key: "events", items: evs,
		header: []string{"position", "time", "effective_on", "stream", "version", "type", "actor", "trigger", "reason"},
		row: func(ev eventstore.Event) []string {
			return []string{strconv.FormatInt(ev.Position, 10), ev.Time.UTC().Format(time.RFC3339), ev.EffectiveDate(), ev.Stream,
				strconv.FormatInt(ev.Version, 10), ev.Type, ev.Actor, ev.Trigger, ev.Reason}
		},
		jsonl: verify.WriteJSONL,
		json: func(w io.Writer) error {
			resp := httpapi.EventsResponse{Events: evs}
			if resp.Events == nil {
				resp.Events = []eventstore.Event{}
			}
			if more {
				next := strconv.FormatInt(evs[len(evs)-1].Position, 10)
				resp.Next = &next
			}
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(resp)
		}}
	if more {
		l.footer = fmt.Sprintf("(more: --after %d)", evs[len(evs)-1].Position)
	}
	return writeList(f.out, stdout, l)
}

// flatLine keeps a table row on one line.
func flatLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func newAuditHistoryCmd() *cobra.Command {
	var db, rid string
	var out outputFlags
	cmd := &cobra.Command{
		Use:   "history PARTY_ID",
		Short: "Every change to a party (or one of its requirements), and to its relationships in either direction, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if _, err := out.resolve(cmd.OutOrStdout()); err != nil {
				return err
			}
			store, err := openLog(ctx, db)
			if err != nil {
				return err
			}
			defer store.Close()
			items, err := projections.HistoryFromLog(ctx, store, args[0], rid)
			if err != nil {
				return err
			}
			return writeList(out, cmd.OutOrStdout(), listOf[projections.ChangeItem]{key: "history", items: items,
				header: []string{"position", "time", "change", "party", "requirement", "actor", "trigger", "reason", "changes", "relationship"},
				row: func(it projections.ChangeItem) []string {
					req := ""
					if it.Requirement != nil {
						req = it.Requirement.Title
					}
					var cs []string
					for _, c := range it.Changes {
						cs = append(cs, c.Field+": "+jsonText(c.From)+" → "+jsonText(c.To))
					}
					return []string{strconv.FormatInt(it.Position, 10), it.Time.UTC().Format(time.RFC3339), it.Change,
						it.Party.Name, req, it.Actor, it.Trigger, it.Reason, strings.Join(cs, "; "), relationshipWords(it.Relationship)}
				},
				table: func(w io.Writer) error { return writeHistoryTable(w, items) },
				json: func(w io.Writer) error {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					enc.SetEscapeHTML(false)
					return enc.Encode(httpapi.HistoryResponse{PartyID: args[0], RequirementID: rid, History: items})
				}})
		},
	}
	cmd.Flags().StringVar(&db, "db", envOr(envDB, "./partyledger.db"), "event log SQLite file (env "+envDB+")")
	cmd.Flags().StringVar(&rid, "requirement", "", "only this requirement's changes")
	out.register(cmd.Flags())
	return cmd
}

func writeHistoryTable(w io.Writer, items []projections.ChangeItem) error {
	for _, it := range items {
		what := it.Party.Name
		if it.Requirement != nil {
			what += " / " + it.Requirement.Title
		}
		if it.Relationship != nil {
			what = "relationship: " + relationshipWords(it.Relationship)
		}
		fmt.Fprintf(w, "#%d  %s  %s  %s by %s (trigger %s)\n", it.Position, it.Time.UTC().Format(time.RFC3339),
			it.Change, what, it.Actor, it.Trigger)
		if it.Reason != "" {
			fmt.Fprintf(w, "    why: %s\n", flatLine(it.Reason))
		}
		for _, c := range it.Changes {
			fmt.Fprintf(w, "    %s: %s → %s\n", c.Field, jsonText(c.From), jsonText(c.To))
		}
	}
	return nil
}

// relationshipWords says a relationship of a history item: "Cloud
// provider supplies Customers"; "" for other items.
func relationshipWords(r *projections.RelationshipRef) string {
	if r == nil {
		return ""
	}
	return r.FromPartyName + " " + diagrams.KindText(r.Kind, r.Label) + " " + r.ToPartyName
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func newAuditExportCmd() *cobra.Command {
	var db, out, keyPath, origin string
	cmd := &cobra.Command{
		Use:   "export --out DIR",
		Short: "Write an auditor pack: the events, a signed checkpoint, the public key and how to verify them",
		Long: `export signs a checkpoint of the log's head now (with the key serve uses, created if
there is none), then writes to DIR, which must be new or empty:

  events.jsonl        every event up to the checkpoint, one envelope per line
  checkpoint          the signed checkpoint note of the last event
  public-key          the key that verifies it
  checkpoints/        every checkpoint signed so far, one note per file
  README.md           how to verify all of it independently

It refuses to sign when the events since the last checkpoint do not verify.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyPath == "" {
				keyPath = defaultKeyPath(db)
			}
			return runAuditExport(cmd.Context(), db, out, keyPath, origin, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&db, "db", envOr(envDB, "./partyledger.db"), "event log SQLite file (env "+envDB+")")
	cmd.Flags().StringVar(&out, "out", "", "directory to write (new or empty)")
	cmd.Flags().StringVar(&keyPath, "checkpoint-key", os.Getenv(envCheckpointKey), "checkpoint signing key (env "+envCheckpointKey+"; default: next to --db)")
	cmd.Flags().StringVar(&origin, "checkpoint-origin", envOr(envCheckpointOrigin, checkpoint.DefaultOrigin), "the log's name on new checkpoints (env "+envCheckpointOrigin+")")
	cmd.MarkFlagRequired("out")
	return cmd
}

// Files of an auditor pack.
const (
	packEvents      = "events.jsonl"
	packCheckpoint  = "checkpoint"
	packPublicKey   = "public-key"
	packCheckpoints = "checkpoints"
	packReadme      = "README.md"
)

func runAuditExport(ctx context.Context, db, out, keyPath, origin string, stdout io.Writer) error {
	if out == "" {
		return errors.New("--out is required")
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: export into a new directory", out)
	}
	store, err := openLog(ctx, db)
	if err != nil {
		return err
	}
	defer store.Close()
	signer, created, err := checkpoint.LoadOrCreateKey(keyPath, origin)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "created the checkpoint key %s (public key %s)\n", keyPath, keyPath+checkpoint.PublicKeySuffix)
	}
	cdb, err := sqlite.OpenDB(db)
	if err != nil {
		return err
	}
	defer cdb.Close()
	table, err := checkpoint.OpenTable(ctx, cdb)
	if err != nil {
		return err
	}
	maker := &checkpoint.Maker{Log: store, Signer: signer, Table: table, Origin: origin, Rules: rulesOf(store)}
	latest, _, err := maker.Make(ctx)
	if err != nil {
		return err
	}
	if latest.Note == "" {
		return errors.New("the log is empty: there is nothing to export")
	}
	if err := os.MkdirAll(filepath.Join(out, packCheckpoints), 0o755); err != nil {
		return err
	}
	// The events up to the checkpoint, which covers them all.
	n := int64(0)
	err = writePackFile(filepath.Join(out, packEvents), func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		for ev, err := range verify.FromStore(ctx, store, 0, 0) {
			if err != nil {
				return err
			}
			if ev.Position > latest.Position {
				break
			}
			if err := verify.WriteJSONL(bw, ev); err != nil {
				return err
			}
			n++
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	all, err := table.List(ctx)
	if err != nil {
		return err
	}
	for _, s := range all {
		name := filepath.Join(out, packCheckpoints, fmt.Sprintf("%012d.note", s.Position))
		if err := os.WriteFile(name, []byte(s.Note), 0o644); err != nil {
			return err
		}
	}
	files := map[string]string{
		packCheckpoint: latest.Note,
		packPublicKey:  signer.VerifierKey() + "\n",
		packReadme:     packREADME(latest, n, signer.VerifierKey()),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(out, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	// Check the pack as an auditor will.
	res, err := verifyPack(ctx, out)
	if err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("the written pack does not verify at position %d: %s", res.FirstFailure.Position, res.FirstFailure.Reason)
	}
	fmt.Fprintf(stdout, "exported %d events to %s; checkpoint at position %d, hash %s, signed by %s\n",
		n, out, latest.Position, latest.Hash, signer.Name())
	return nil
}

// writePackFile writes path through write, synced, under a temporary name
// renamed into place only when complete.
func writePackFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// verifyPack verifies an auditor pack: its events against its checkpoint,
// signed by its public key.
func verifyPack(ctx context.Context, dir string) (verify.Result, error) {
	v, err := checkpoint.ReadVerifier(filepath.Join(dir, packPublicKey))
	if err != nil {
		return verify.Result{}, err
	}
	anchor, err := readCheckpointFile(filepath.Join(dir, packCheckpoint), v)
	if err != nil {
		return verify.Result{}, err
	}
	f, err := os.Open(filepath.Join(dir, packEvents))
	if err != nil {
		return verify.Result{}, err
	}
	defer f.Close()
	return verify.Verify(ctx, verify.FromJSONL(bufio.NewReaderSize(f, 1<<20)), verify.Options{Anchors: []verify.Anchor{anchor}})
}

// readCheckpointFile reads a signed checkpoint note and checks its
// signature.
func readCheckpointFile(path string, v *checkpoint.Verifier) (verify.Anchor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return verify.Anchor{}, fmt.Errorf("read checkpoint: %w", err)
	}
	c, err := checkpoint.Open(b, v)
	if err != nil {
		return verify.Anchor{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return verify.Anchor{Position: c.Position, Hash: c.Hash,
		Source: fmt.Sprintf("the checkpoint of %s signed at %s", c.Origin, c.Time.Format(time.RFC3339))}, nil
}

func packREADME(c checkpoint.Stored, n int64, vkey string) string {
	return strings.NewReplacer("{{position}}", strconv.FormatInt(c.Position, 10), "{{hash}}", c.Hash,
		"{{events}}", strconv.FormatInt(n, 10), "{{origin}}", c.Origin, "{{key}}", vkey,
		"{{time}}", c.Time.Format(time.RFC3339)).Replace(packReadmeText)
}

const packReadmeText = "# partyledger audit pack\n\n" +
	"This directory holds the event log of the register of interested parties of `{{origin}}`\n" +
	"({{events}} events, positions 1 to {{position}}), a checkpoint of its last event signed at\n" +
	"{{time}}, and the key that verifies the signature.\n\n" +
	"| file | what |\n|---|---|\n" +
	"| `events.jsonl` | one event per line, in position order |\n" +
	"| `checkpoint` | the signed checkpoint: the log had {{position}} events, the last with hash `{{hash}}` |\n" +
	"| `public-key` | the Ed25519 verifier key: `{{key}}` |\n" +
	"| `checkpoints/` | every checkpoint signed so far, one per file |\n\n" +
	"## Verify with partyledger\n\n" +
	"    partyledger verify --pack .\n\n" +
	"and, to check that the live database still holds this exact log (nothing edited, deleted,\n" +
	"reordered, truncated, rolled back or re-hashed since):\n\n" +
	"    partyledger verify --db partyledger.db --checkpoint checkpoint --public-key public-key --reference events.jsonl\n\n" +
	"## Verify independently\n\n" +
	"1. **Each event's hash.** `hash` is the lower-case hex SHA-256 of the concatenation, for\n" +
	"   each of these 15 strings in this order, of its length in bytes as an 8-byte big-endian\n" +
	"   unsigned integer followed by its UTF-8 bytes:\n" +
	"   `partyledger-event-v1`, `id`, `stream`, `version` (decimal), `position` (decimal),\n" +
	"   `type`, `schema` (decimal), `time` (exactly as in the line: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`),\n" +
	"   `actor`, `reason`, `trigger`, `correlation_id`, `causation_id`, `data`, `prev_hash`.\n" +
	"   An event that carries `effective_on` (the date the change took effect) is hashed in\n" +
	"   version 2: the first string is `partyledger-event-v2` and `effective_on` follows\n" +
	"   `causation_id` (16 strings).\n" +
	"   `data` is hashed as its exact bytes in the line: it is the last member, so it is\n" +
	"   everything after the first `,\"data\":` up to the line's final `}`.\n" +
	"2. **The chain.** The first event has `prev_hash` \"\"; every other event's `prev_hash` is\n" +
	"   the `hash` of the line before it. Positions run 1, 2, 3, … without a gap, and the\n" +
	"   `version`s of each `stream` run 1, 2, 3, … in position order.\n" +
	"3. **The checkpoint.** `checkpoint` is a signed note in the format of Go's checksum\n" +
	"   database (golang.org/x/mod/sumdb/note) with a C2SP tlog-checkpoint body: the origin,\n" +
	"   the position of the last event, the base64 of that event's hash as 32 raw bytes, and\n" +
	"   a `time` line. The text up to and including the blank line's preceding newline is\n" +
	"   signed; the signature line is `— <name> <base64>`, where the base64 decodes to a\n" +
	"   4-byte key id followed by the 64-byte Ed25519 signature. The public key is\n" +
	"   `<name>+<key id in hex>+<base64>`, whose base64 decodes to the byte 0x01 followed by\n" +
	"   the 32-byte Ed25519 public key. Check the signature, then that the event at the\n" +
	"   checkpoint's position has exactly that hash.\n\n" +
	"A Python sketch of steps 1 and 2:\n\n" +
	"```python\n" +
	"import hashlib, json, struct\n" +
	"prev, last, versions = \"\", 0, {}\n" +
	"for line in open(\"events.jsonl\", encoding=\"utf-8\"):\n" +
	"    line = line.rstrip(\"\\n\")\n" +
	"    ev = json.loads(line)\n" +
	"    data = line[line.index(',\"data\":') + len(',\"data\":'):-1]\n" +
	"    fields = [\"partyledger-event-v1\", ev[\"id\"], ev[\"stream\"], str(ev[\"version\"]),\n" +
	"              str(ev[\"position\"]), ev[\"type\"], str(ev[\"schema\"]), ev[\"time\"], ev[\"actor\"],\n" +
	"              ev[\"reason\"], ev[\"trigger\"], ev[\"correlation_id\"], ev[\"causation_id\"], data,\n" +
	"              ev[\"prev_hash\"]]\n" +
	"    if ev.get(\"effective_on\"):\n" +
	"        fields[0] = \"partyledger-event-v2\"\n" +
	"        fields.insert(13, ev[\"effective_on\"])\n" +
	"    h = hashlib.sha256()\n" +
	"    for f in fields:\n" +
	"        b = f.encode(\"utf-8\")\n" +
	"        h.update(struct.pack(\">Q\", len(b)) + b)\n" +
	"    assert h.hexdigest() == ev[\"hash\"], ev[\"position\"]\n" +
	"    assert ev[\"prev_hash\"] == prev and ev[\"position\"] == last + 1, ev[\"position\"]\n" +
	"    assert ev[\"version\"] == versions.get(ev[\"stream\"], 0) + 1, ev[\"position\"]\n" +
	"    prev, last, versions[ev[\"stream\"]] = ev[\"hash\"], ev[\"position\"], ev[\"version\"]\n" +
	"print(\"chain ok:\", last, \"events, head\", prev)\n" +
	"```\n\n" +
	"Keep this pack (or at least `checkpoint` and `public-key`): a later verification of the\n" +
	"live database against it proves that the first {{position}} events were not changed.\n"
