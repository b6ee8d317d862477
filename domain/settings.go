package domain

import "strings"

// SettingsStream is the one stream of the organisation's settings.
const SettingsStream = "settings"

// Settings is the state of the stored settings: what the reports and the
// console show about the organisation.
type Settings struct {
	Version int64
	OrgName string
}

// Apply folds one event of the settings stream.
func (s *Settings) Apply(e Event) {
	s.Version++
	if e, ok := e.(SettingsChanged); ok {
		if c, ok := e.Changes["org_name"]; ok {
			s.OrgName, _ = c.To.(string)
		}
	}
}

// ChangeSettings sets settings; nil leaves one as it is.
type ChangeSettings struct {
	Meta
	OrgName *string
}

// Change decides ChangeSettings. A change that changes nothing appends
// nothing.
func (s *Settings) Change(cmd ChangeSettings) ([]Event, error) {
	var v validation
	cmd.Meta.validate(&v, false)
	ch := Changes{}
	if cmd.OrgName != nil {
		n := strings.TrimSpace(*cmd.OrgName)
		checkName(&v, "org_name", n, MaxNameLen)
		if n != s.OrgName {
			ch["org_name"] = Change{s.OrgName, n}
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if len(ch) == 0 {
		return nil, nil
	}
	return []Event{SettingsChanged{Changes: ch}}, nil
}
