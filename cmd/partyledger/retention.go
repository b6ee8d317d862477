package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// retentionValue is a duration flag that also takes whole days ("90d"),
// the unit retention periods are stated in.
type retentionValue time.Duration

func (v *retentionValue) String() string {
	d := time.Duration(*v)
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

func (v *retentionValue) Set(s string) error {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("%q: want whole days such as 90d, or a duration such as 720h", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return fmt.Errorf("%q: want whole days such as 90d, or a duration such as 720h", s)
		}
	}
	if d <= 0 {
		return fmt.Errorf("%q: the retention must be positive", s)
	}
	*v = retentionValue(d)
	return nil
}

func (v *retentionValue) Type() string { return "duration" }
