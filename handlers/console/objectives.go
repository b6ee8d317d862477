package console

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// trendLen is how many measurements a KPI's trend chart shows.
const trendLen = 12

// handleObjectives lists the objectives (clause 6.2) with their KPIs, each
// with its latest value against the target and a trend chart.
func (s *Server) handleObjectives(w http.ResponseWriter, r *http.Request) error {
	if s.Plans == nil {
		return domain.Errorf(domain.ENOTFOUND, "objectives are not enabled on this server")
	}
	ctx := r.Context()
	list, err := s.Plans.Objectives(ctx, projections.ObjectiveFilter{})
	if err != nil {
		return err
	}
	out := make([]projections.ObjectiveView, 0, len(list))
	for _, o := range list {
		full, err := s.Plans.Objective(ctx, o.ID, trendLen)
		if err != nil {
			return err
		}
		out = append(out, full)
	}
	return s.render(w, r, http.StatusOK, "objectives", "Objectives and KPIs", out)
}

// trendSVG draws a KPI's trend as a small inline SVG line chart with the
// target as a dashed line. It writes only numbers it formats itself, so
// the markup is safe to embed.
func trendSVG(k projections.KPIView) template.HTML {
	if len(k.Trend) == 0 {
		return ""
	}
	const w, h, pad = 220.0, 56.0, 6.0
	lo, hi := k.Target, k.Target
	for _, m := range k.Trend {
		lo, hi = min(lo, m.Value), max(hi, m.Value)
	}
	if hi == lo {
		hi, lo = hi+1, lo-1
	}
	x := func(i int) float64 {
		if len(k.Trend) == 1 {
			return w / 2
		}
		return pad + float64(i)*(w-2*pad)/float64(len(k.Trend)-1)
	}
	y := func(v float64) float64 { return h - pad - (v-lo)*(h-2*pad)/(hi-lo) }
	var pts, dots strings.Builder
	for i, m := range k.Trend {
		fmt.Fprintf(&pts, "%.1f,%.1f ", x(i), y(m.Value))
		fill := "#0b6e4f"
		if !m.MeetsTarget {
			fill = "#a4262c"
		}
		fmt.Fprintf(&dots, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x(i), y(m.Value), fill)
	}
	first, last := k.Trend[0], k.Trend[len(k.Trend)-1]
	return template.HTML(fmt.Sprintf(`<svg class="trend" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%d measurements from %s to %s; latest %s, target %s %s">`+
		`<line x1="0" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#8a93a3" stroke-dasharray="4 3"/>`+
		`<polyline points="%s" fill="none" stroke="#1f4e79" stroke-width="2"/>%s</svg>`,
		w, h, w, h, len(k.Trend), template.HTMLEscapeString(first.MeasuredAt), template.HTMLEscapeString(last.MeasuredAt),
		fmtNum(last.Value), template.HTMLEscapeString(k.Operator), fmtNum(k.Target),
		w, y(k.Target), y(k.Target), strings.TrimSpace(pts.String()), dots.String()))
}

func fmtNum(v float64) string { return fmtValue(v) }
