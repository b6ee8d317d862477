package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/partyledger/partyledger/handlers/httpapi/client"
	"github.com/partyledger/partyledger/projections"
)

// The register's write and list commands, through a running server's API
// (the typed client): parties, requirements, reviews. Their flags are the
// API's JSON fields (--source-type or --source_type for source_type), and a
// flag that is not given is not sent, so a revise changes only what it names.

func init() {
	featureCommands = append(featureCommands, newPartiesCmd, newRequirementsCmd)
}

// fieldKind says how a flag's text becomes a JSON value.
type fieldKind int

const (
	kindString   fieldKind = iota
	kindInt                // a whole number
	kindList               // comma-separated, repeatable
	kindNullable           // a string; "" sends null (clears it)
	kindDecision           // true, false or undecided (null)
	kindParty              // a party name or id, sent as its id; "" sends null
)

// field is one body field as a flag.
type field struct {
	name  string // the JSON name
	kind  fieldKind
	usage string
}

var (
	partyWriteFields = []field{
		{"name", kindString, "the party's name"},
		{"category", kindString, "customer, government_customer, employee, executive, shareholder, supplier, partner, regulator, insurer, auditor, media, landlord, competitor, community or other"},
		{"scope", kindString, "internal or external"},
		{"description", kindString, "what the party is"},
		{"owner", kindString, "the role that owns the relationship"},
		{"influence", kindInt, "1-5 (default 3)"},
		{"interest", kindInt, "1-5 (default 3)"},
		{"parent_id", kindParty, "the parent party, by name or id (\"\" clears it)"},
	}
	requirementWriteFields = []field{
		{"kind", kindString, "requirement or expectation"},
		{"title", kindString, "short title"},
		{"description", kindString, "what is required or expected"},
		{"source_type", kindString, "law, regulation, contract, sla, policy, standard, survey, interview, feedback, market_research, benchmark or other"},
		{"source_ref", kindString, "such as \"GDPR Art. 32\""},
		{"owner", kindString, "the role that owns it"},
		{"priority", kindString, "low, medium, high or critical"},
		{"review_due", kindNullable, "next review date, YYYY-MM-DD (\"\" clears it)"},
	}
	addressingFields = []field{
		{"addressed", kindDecision, "true, false or undecided (4.2 c)"},
		{"rationale", kindString, "why"},
		{"treatment", kindString, "how the ISMS addresses it"},
		{"controls", kindList, "Annex A controls, such as A.8.24 (comma-separated or repeated)"},
	}
	reviewFields = []field{
		{"held_on", kindString, "the day of the review, YYYY-MM-DD"},
		{"title", kindString, "title"},
		{"attendees", kindList, "who attended (comma-separated or repeated)"},
		{"notes", kindString, "notes"},
	}
	metaFields = []field{
		{"reason", kindString, "why (free text; required to revise, decide or retire)"},
		{"trigger", kindString, "risk_assessment, incident, regulatory_change, contract_change, customer_feedback, audit_finding, management_review, periodic_review or other"},
	}
)

// flagName is the flag of a JSON field: dashes for underscores.
func flagName(jsonName string) string { return strings.ReplaceAll(jsonName, "_", "-") }

// underscoresAsDashes lets --source_type stand for --source-type.
func underscoresAsDashes(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	return pflag.NormalizedName(strings.ReplaceAll(name, "_", "-"))
}

// addFields registers fs's flags for fields.
func addFields(fs *pflag.FlagSet, fields ...[]field) {
	fs.SetNormalizeFunc(underscoresAsDashes)
	for _, group := range fields {
		for _, f := range group {
			if f.kind == kindList {
				fs.StringSlice(flagName(f.name), nil, f.usage)
			} else {
				fs.String(flagName(f.name), "", f.usage)
			}
		}
	}
}

// requestBody builds the request body from the flags given on the command line:
// a flag not given is not sent.
func requestBody(ctx context.Context, c *client.Client, fs *pflag.FlagSet, fields ...[]field) (client.Fields, error) {
	out := client.Fields{}
	for _, group := range fields {
		for _, f := range group {
			fl := fs.Lookup(flagName(f.name))
			if fl == nil || !fl.Changed {
				continue
			}
			v := fl.Value.String()
			switch f.kind {
			case kindString:
				out[f.name] = v
			case kindInt:
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, fmt.Errorf("--%s %q: want a whole number", fl.Name, v)
				}
				out[f.name] = n
			case kindList:
				l, _ := fs.GetStringSlice(fl.Name)
				out[f.name] = l
			case kindNullable:
				if v == "" {
					out[f.name] = nil
				} else {
					out[f.name] = v
				}
			case kindDecision:
				switch v {
				case "true", "yes":
					out[f.name] = true
				case "false", "no":
					out[f.name] = false
				case "undecided", "null":
					out[f.name] = nil
				default:
					return nil, fmt.Errorf("--%s %q: want true, false or undecided", fl.Name, v)
				}
			case kindParty:
				if v == "" {
					out[f.name] = nil
					continue
				}
				p, err := c.ResolveParty(ctx, v)
				if err != nil {
					return nil, fmt.Errorf("--%s: %w", fl.Name, err)
				}
				out[f.name] = p.ID
			}
		}
	}
	return out, nil
}

// remoteCmd is a subcommand that calls the server: run gets the client.
// When the command has --if-match (addIfMatch) and it is given, the
// client's writes carry it as If-Match.
func remoteCmd(c *apiClient, use, short string, args cobra.PositionalArgs,
	run func(ctx context.Context, cl *client.Client, cmd *cobra.Command, args []string) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args,
		RunE: func(cmd *cobra.Command, a []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if fl := cmd.Flags().Lookup("if-match"); fl != nil && fl.Changed {
				if cl.IfMatch, err = ifMatchHeader(fl.Value.String()); err != nil {
					return err
				}
			}
			return run(cmd.Context(), cl, cmd, a)
		}}
}

// addIfMatch gives a write command --if-match: the version (ETag) of the
// party it writes to, as last seen. Every route these commands call
// honours If-Match on the party's stream.
func addIfMatch(cmd *cobra.Command) {
	cmd.Flags().String("if-match", "", `the party's version (its ETag, as "version" in its JSON) last seen, such as 3: `+
		"if the party has changed since, the write fails (412 precondition_failed) and writes nothing")
}

// ifMatchHeader turns --if-match, given as 3, "3" or W/"3", into the
// If-Match header value "3".
func ifMatchHeader(v string) (string, error) {
	s := strings.Trim(strings.TrimPrefix(strings.TrimSpace(v), "W/"), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return "", fmt.Errorf("--if-match %q: want the version (ETag) last seen, such as 3", v)
	}
	return `"` + strconv.FormatInt(n, 10) + `"`, nil
}

func newPartiesCmd() *cobra.Command {
	var c apiClient
	cmd := &cobra.Command{
		Use:     "parties",
		Aliases: []string{"party"},
		Short:   "List, add, revise and retire interested parties on a running server",
		Long: `parties works through a running server's API (--url and --token, or PARTYLEDGER_URL and
PARTYLEDGER_TOKEN). A PARTY argument is a party's id or its name; a name that matches
several parties is an error that lists them.`,
		Example: `  partyledger parties add --name "Acme Cloud" --category supplier --scope external --trigger contract_change --reason "new hosting contract"
  partyledger parties revise "Acme Cloud" --influence 5 --reason "now hosts production" --if-match 2
  partyledger parties retire "Acme Cloud" --reason "contract ended" --trigger contract_change
  partyledger parties list --category supplier --output suppliers.csv`,
	}
	c.register(cmd.PersistentFlags())

	var out outputFlags
	var filter client.PartyFilter
	list := remoteCmd(&c, "list", "List parties", cobra.NoArgs, func(ctx context.Context, cl *client.Client, cmd *cobra.Command, _ []string) error {
		var resp struct {
			Parties []projections.PartyView `json:"parties"`
		}
		// Decoded as the read model's view, so that register and parties
		// list print the same columns.
		if _, err := cl.Do(ctx, "GET", "/parties"+filter.Query(), nil, &resp); err != nil {
			return err
		}
		return writeList(out, cmd.OutOrStdout(), partyList(resp.Parties))
	})
	list.Flags().StringVar(&filter.Category, "category", "", "only this category")
	list.Flags().StringVar(&filter.Scope, "scope", "", "internal or external")
	list.Flags().StringVar(&filter.Status, "status", "", "active (default), retired or all")
	out.register(list.Flags())

	show := remoteCmd(&c, "show PARTY", "Show a party with its requirements, as JSON", cobra.ExactArgs(1), func(ctx context.Context, cl *client.Client, cmd *cobra.Command, args []string) error {
		p, err := cl.ResolveParty(ctx, args[0])
		if err != nil {
			return err
		}
		if p, err = cl.Party(ctx, p.ID); err != nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), p)
	})

	add := remoteCmd(&c, "add", "Identify a party", cobra.NoArgs, func(ctx context.Context, cl *client.Client, cmd *cobra.Command, _ []string) error {
		b, err := requestBody(ctx, cl, cmd.Flags(), partyWriteFields, metaFields)
		if err != nil {
			return err
		}
		p, err := cl.CreateParty(ctx, b)
		if err != nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), p)
	})
	addFields(add.Flags(), partyWriteFields, metaFields)
	for _, f := range []string{"name", "category", "scope"} {
		_ = add.MarkFlagRequired(f)
	}

	revise := remoteCmd(&c, "revise PARTY", "Revise the fields given", cobra.ExactArgs(1), func(ctx context.Context, cl *client.Client, cmd *cobra.Command, args []string) error {
		p, err := cl.ResolveParty(ctx, args[0])
		if err != nil {
			return err
		}
		b, err := requestBody(ctx, cl, cmd.Flags(), partyWriteFields, metaFields)
		if err != nil {
			return err
		}
		if p, err = cl.ReviseParty(ctx, p.ID, b); err != nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), p)
	})
	addFields(revise.Flags(), partyWriteFields, metaFields)
	addIfMatch(revise)
	_ = revise.MarkFlagRequired("reason")

	retire := remoteCmd(&c, "retire PARTY", "Retire a party", cobra.ExactArgs(1), func(ctx context.Context, cl *client.Client, cmd *cobra.Command, args []string) error {
		p, err := cl.ResolveParty(ctx, args[0])
		if err != nil {
			return err
		}
		b, err := requestBody(ctx, cl, cmd.Flags(), metaFields)
		if err != nil {
			return err
		}
		if p, err = cl.RetireParty(ctx, p.ID, b); err != nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), p)
	})
	addFields(retire.Flags(), metaFields)
	addIfMatch(retire)
	_ = retire.MarkFlagRequired("reason")

	cmd.AddCommand(list, show, add, revise, retire)
	return cmd
}

func newRequirementsCmd() *cobra.Command {
	var c apiClient
	cmd := &cobra.Command{
		Use:     "requirements",
		Aliases: []string{"requirement"},
		Short:   "List, add, revise, decide and retire a party's requirements on a running server",
		Long: `requirements works through a running server's API. PARTY is a party's id or name;
REQUIREMENT is the requirement's id.`,
		Example: `  partyledger requirements add "Customers" --kind requirement --title "Protect personal data" --source-type law --source-ref "GDPR Art. 32" --trigger regulatory_change
  partyledger requirements decide "Customers" 0193… --addressed true --controls A.8.24,A.5.34 --reason "risk treatment plan"
  partyledger requirements list "Customers" --format csv`,
	}
	c.register(cmd.PersistentFlags())

	var out outputFlags
	list := remoteCmd(&c, "list PARTY", "List a party's requirements", cobra.ExactArgs(1), func(ctx context.Context, cl *client.Client, cmd *cobra.Command, args []string) error {
		p, err := cl.ResolveParty(ctx, args[0])
		if err != nil {
			return err
		}
		rs, err := cl.Requirements(ctx, p.ID)
		if err != nil {
			return err
		}
		return writeList(out, cmd.OutOrStdout(), listOf[client.Requirement]{key: "requirements", items: rs,
			header: []string{"id", "kind", "title", "source_type", "source_ref", "owner", "priority", "review_due", "addressed", "status"},
			row: func(r client.Requirement) []string {
				due, addressed := "", "undecided"
				if r.ReviewDue != nil {
					due = *r.ReviewDue
				}
				if r.Addressed != nil {
					addressed = strconv.FormatBool(*r.Addressed)
				}
				return []string{r.ID, r.Kind, r.Title, r.SourceType, r.SourceRef, r.Owner, r.Priority, due, addressed, r.Status}
			}})
	})
	out.register(list.Flags())

	write := func(use, short string, nargs int, fields [][]field, reasonRequired bool,
		call func(ctx context.Context, cl *client.Client, pid string, args []string, b client.Fields) (client.Requirement, error)) *cobra.Command {
		sub := remoteCmd(&c, use, short, cobra.ExactArgs(nargs), func(ctx context.Context, cl *client.Client, cmd *cobra.Command, args []string) error {
			p, err := cl.ResolveParty(ctx, args[0])
			if err != nil {
				return err
			}
			b, err := requestBody(ctx, cl, cmd.Flags(), fields...)
			if err != nil {
				return err
			}
			r, err := call(ctx, cl, p.ID, args, b)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), r)
		})
		addFields(sub.Flags(), fields...)
		addIfMatch(sub)
		if reasonRequired {
			_ = sub.MarkFlagRequired("reason")
		}
		return sub
	}
	add := write("add PARTY", "Identify a requirement or expectation", 1,
		[][]field{requirementWriteFields, addressingFields, metaFields}, false,
		func(ctx context.Context, cl *client.Client, pid string, _ []string, b client.Fields) (client.Requirement, error) {
			return cl.CreateRequirement(ctx, pid, b)
		})
	for _, f := range []string{"kind", "title", "source-type"} {
		_ = add.MarkFlagRequired(f)
	}
	revise := write("revise PARTY REQUIREMENT", "Revise the fields given", 2,
		[][]field{requirementWriteFields, metaFields}, true,
		func(ctx context.Context, cl *client.Client, pid string, args []string, b client.Fields) (client.Requirement, error) {
			return cl.ReviseRequirement(ctx, pid, args[1], b)
		})
	decide := write("decide PARTY REQUIREMENT", "Decide whether the ISMS addresses it (4.2 c)", 2,
		[][]field{addressingFields, metaFields}, true,
		func(ctx context.Context, cl *client.Client, pid string, args []string, b client.Fields) (client.Requirement, error) {
			return cl.DecideAddressing(ctx, pid, args[1], b)
		})
	_ = decide.MarkFlagRequired("addressed")
	retire := write("retire PARTY REQUIREMENT", "Retire a requirement", 2,
		[][]field{metaFields}, true,
		func(ctx context.Context, cl *client.Client, pid string, args []string, b client.Fields) (client.Requirement, error) {
			return cl.RetireRequirement(ctx, pid, args[1], b)
		})
	cmd.AddCommand(list, add, revise, decide, retire)
	return cmd
}

// managementReviewCmds are "reviews list" and "reviews hold": management
// reviews (9.3) through a running server, beside the local "reviews due".
func managementReviewCmds() []*cobra.Command {
	var c apiClient
	var out outputFlags
	list := remoteCmd(&c, "list", "List management reviews (through a running server)", cobra.NoArgs, func(ctx context.Context, cl *client.Client, cmd *cobra.Command, _ []string) error {
		rs, err := cl.Reviews(ctx)
		if err != nil {
			return err
		}
		return writeList(out, cmd.OutOrStdout(), listOf[client.Review]{key: "management_reviews", items: rs,
			header: []string{"id", "held_on", "title", "position", "recorded_by", "attendees"},
			row: func(r client.Review) []string {
				return []string{r.ID, r.HeldOn, r.Title, strconv.FormatInt(r.Position, 10), r.RecordedBy, strings.Join(r.Attendees, ", ")}
			}})
	})
	c.register(list.Flags())
	out.register(list.Flags())
	var hc apiClient
	hold := remoteCmd(&hc, "hold", "Record a management review (through a running server)", cobra.NoArgs, func(ctx context.Context, cl *client.Client, cmd *cobra.Command, _ []string) error {
		b, err := requestBody(ctx, cl, cmd.Flags(), reviewFields, metaFields)
		if err != nil {
			return err
		}
		r, err := cl.HoldReview(ctx, b)
		if err != nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), r)
	})
	hold.Example = `  partyledger reviews hold --held-on 2026-03-12 --title "Q1 management review" --attendees CEO,CISO --trigger management_review`
	hc.register(hold.Flags())
	addFields(hold.Flags(), reviewFields, metaFields)
	_ = hold.MarkFlagRequired("held-on")
	return []*cobra.Command{list, hold}
}
