package proxypage

import (
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Progress answers a browser (KindBrowser) while its rule wakes: 503 with
// Retry-After, X-Autostop ("progress; phase=…") and a self-contained HTML page
// (about 9 KB, no external fetch) naming the rule, the host and path asked
// for, the wake's three steps and its elapsed time, or its error once failed.
//
// The page polls its own URL every PollInterval (Poll answers) to follow the
// phase, and reloads itself onto the app once a poll is no longer answered by
// the proxy; without JavaScript it refreshes every Retry-After seconds. Every
// dynamic value is HTML-escaped, and a Content-Security-Policy allows only the
// page's own style and script. A HEAD request gets the headers only.
func Progress(req events.ALBTargetGroupRequest, w Wake) events.ALBTargetGroupResponse {
	body := ""
	if req.HTTPMethod != http.MethodHead {
		body = renderProgress(req, w)
	}

	return respond(req, http.StatusServiceUnavailable, body,
		header{hContentType, ctHTML},
		header{hRetryAfter, w.retryAfter()},
		header{hAutostop, w.autostopValue("progress")},
		header{hCSP, progressCSP},
	)
}

// The page around its dynamic values, in order. The values written between
// these parts are escaped (text) or digits and phase names (attributes).
const (
	pageTitle = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>`
	pageRefresh = ` · autostop</title>
<link rel="icon" href="` + progressIcon + `">
<noscript><meta http-equiv="refresh" content="`
	pageMainPhase = `"></noscript>
<style>` + progressStyle + `</style>
</head>
<body>
<main id="wake" class="card" aria-labelledby="headline" data-phase="`
	pageMainElapsed = `" data-elapsed="`
	pageMainRetry   = `" data-retry="`
	pageMainPoll    = `" data-poll="`
	pageHeadline    = `">
<div class="brand">` + progressLogo + `<span>autostop</span></div>
<h1 id="headline"><span id="verb">`
	pageRule = `</span> <span id="rule" class="rule">`
	pageHost = `</span></h1>
<p class="target"><span class="host">`
	pagePath   = `</span><span class="path">`
	pageStatus = `</span></p>
<p id="status" class="sr" role="status">`
	pageSteps = `</p>
<ol class="steps" aria-label="Wake progress">
`
	pageFailure = `</ol>
<div id="failure" class="alert" role="alert"`
	pageError = `>
<p class="title">The wake failed</p>
<p id="error" class="error">`
	pageElapsed = `</p>
<p class="retry"><span>The next request retries it.</span> <a class="button" href="">Try again</a></p>
</div>
<div class="meta"><span class="elapsed">Elapsed <span id="elapsed">`
	pageEnd = `</span></span><span>This page reloads by itself when the app is ready.</span></div>
</main>
<script>` + progressScript + `</script>
</body>
</html>
`
	// pageStatic is the length of every part, to size the buffer once.
	pageStatic = len(pageTitle) + len(pageRefresh) + len(pageMainPhase) + len(pageMainElapsed) +
		len(pageMainRetry) + len(pageMainPoll) + len(pageHeadline) + len(pageRule) + len(pageHost) +
		len(pagePath) + len(pageStatus) + len(pageSteps) + len(pageFailure) + len(pageError) +
		len(pageElapsed) + len(pageEnd)
)

// renderProgress writes the progress page. The same page from html/template
// measured 161 allocations and 42 µs per answer (the goal is at most 50 and
// 1 ms); pre-rendered parts joined with html.EscapeString'd values in one
// pre-sized buffer measure 5 and 6 µs (BenchmarkProgress).
func renderProgress(req events.ALBTargetGroupRequest, w Wake) string {
	phase := w.Phase.normal()
	failed := phase == PhaseFailed
	verb := "Starting"
	if failed {
		verb = "Could not start"
	}
	rule := html.EscapeString(ruleOrDefault(w.Rule))
	host := headerValue(req, "host")
	if host == "" {
		host = "(no Host header)"
	}
	host = html.EscapeString(host)
	path := html.EscapeString(displayPath(req.Path))
	errText := ""
	if failed {
		errText = html.EscapeString(w.errorText())
	}

	var b strings.Builder
	b.Grow(pageStatic + 2*len(rule) + len(host) + len(path) + len(errText) + 512)
	b.WriteString(pageTitle)
	b.WriteString(verb)
	b.WriteByte(' ')
	b.WriteString(rule)
	b.WriteString(pageRefresh)
	writeInt(&b, w.retryAfterSeconds())
	b.WriteString(pageMainPhase)
	b.WriteString(string(phase))
	b.WriteString(pageMainElapsed)
	elapsed := w.elapsedSeconds()
	writeInt(&b, elapsed)
	b.WriteString(pageMainRetry)
	writeInt(&b, w.retryAfterSeconds())
	b.WriteString(pageMainPoll)
	writeInt(&b, int(PollInterval/time.Millisecond))
	b.WriteString(pageHeadline)
	b.WriteString(verb)
	b.WriteString(pageRule)
	b.WriteString(rule)
	b.WriteString(pageHost)
	b.WriteString(host)
	b.WriteString(pagePath)
	b.WriteString(path)
	b.WriteString(pageStatus)
	if failed {
		b.WriteString("The wake failed.")
	} else {
		b.WriteString("Step ")
		writeInt(&b, phase.Step())
		b.WriteString(" of 3: ")
		b.WriteString(phase.Label())
	}
	b.WriteString(pageSteps)
	writeSteps(&b, phase)
	b.WriteString(pageFailure)
	if !failed {
		b.WriteString(" hidden")
	}
	b.WriteString(pageError)
	b.WriteString(errText)
	b.WriteString(pageElapsed)
	writeClock(&b, elapsed)
	b.WriteString(pageEnd)

	return b.String()
}

// writeSteps writes the three steps, marked done, active or todo for phase
// (all todo once failed). The script marks them the same way.
func writeSteps(b *strings.Builder, phase Phase) {
	at := phase.Step()
	for i, p := range [...]Phase{PhaseStarting, PhaseHealthCheck, PhaseSwitching} {
		state, sr := "todo", ""
		switch step := i + 1; {
		case at == 0 || step > at:
		case step < at:
			state, sr = "done", " (done)"
		default:
			state, sr = "active", " (in progress)"
		}
		b.WriteString(`<li class="step `)
		b.WriteString(state)
		b.WriteString(`" data-step="`)
		b.WriteString(string(p))
		if state == "active" {
			b.WriteString(`" aria-current="step`)
		}
		b.WriteString(`"><span class="dot" aria-hidden="true"></span><span class="label">`)
		b.WriteString(p.Label())
		b.WriteString(`</span><span class="sr">`)
		b.WriteString(sr)
		b.WriteString("</span></li>\n")
	}
}

// writeInt writes n in decimal without allocating.
func writeInt(b *strings.Builder, n int) {
	var buf [20]byte
	b.Write(strconv.AppendInt(buf[:0], int64(n), 10))
}

// writeClock writes seconds as m:ss, or h:mm:ss from an hour on.
func writeClock(b *strings.Builder, s int) {
	if s >= 3600 {
		writeInt(b, s/3600)
		b.WriteByte(':')
		writeTwo(b, s/60%60)
	} else {
		writeInt(b, s/60)
	}
	b.WriteByte(':')
	writeTwo(b, s%60)
}

// writeTwo writes 0 to 99 as two digits.
func writeTwo(b *strings.Builder, n int) {
	b.WriteByte(byte('0' + n/10))
	b.WriteByte(byte('0' + n%10))
}

// ruleOrDefault is the rule's name as shown, never empty.
func ruleOrDefault(rule string) string {
	if rule == "" {
		return "(unnamed rule)"
	}

	return rule
}

// displayPath is the request path as the page shows it: percent-decoded (the
// ALB passes it as sent), "/" when empty.
func displayPath(p string) string {
	if p == "" {
		return "/"
	}
	if d, err := url.PathUnescape(p); err == nil {
		return d
	}

	return p
}
