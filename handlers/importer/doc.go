// Package importer brings an existing register of interested parties in from
// a spreadsheet and writes the register back out as one.
//
// It has three parts, none of which does I/O beyond the reader or writer it
// is given, and none of which touches the event store:
//
//   - [Read] parses an XLSX workbook or a CSV file into [Table] rows: it finds
//     the header row below title rows and merged cells, recognises column
//     headers by their usual names ([Fields]), and reads each cell's value
//     (yes/no, internal/external, High/Medium/Low, categories, dates).
//   - [Planner.Plan] compares the rows with the current register, seen
//     through the narrow [Register] interface, and returns a [Plan]: what
//     would be added, revised or left unchanged, every error with its cell,
//     and the domain commands (and the events they decide) to run.
//   - [WriteXLSX] writes the register in the columns [Read] reads, so that
//     export followed by import plans no change.
//
// # Semantics
//
// A party is matched by its name through [domain.NormalizeName]; a
// requirement by its title within the party. A column the file has is the
// truth for the records the file names: a blank text cell clears the field,
// a blank Addressed cell means "not yet decided". A blank enum or level cell
// leaves an existing record's value alone and takes the default for a new
// one. A column the file does not have leaves the field alone. Rows the file
// does not have are left alone unless [Options.RetireMissing] is set.
package importer
