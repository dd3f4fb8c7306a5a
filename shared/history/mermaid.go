package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// aslState is the part of a state the graph needs: its shape and where it
// can go next. Parallel branches and Map iterators are not read: the graph
// stays one level deep, like the console's collapsed view.
type aslState struct {
	Name    string `json:"-"`
	ID      string `json:"-"`
	Type    string
	Next    string
	End     bool
	Default string
	Choices []map[string]json.RawMessage
	Catch   []struct {
		ErrorEquals []string
		Next        string
	}
}

// hop is a way from one node to another: by Next, Default or a Choice, or
// (dashed) by a Catch. Both may join the same two states, and the
// execution took only one.
type hop struct {
	from, to string
	dashed   bool
}

// edge is one arrow between node IDs.
type edge struct {
	hop
	label string
}

// Mermaid draws the state machine definition (ASL JSON) as a Mermaid
// flowchart with the path this execution took: like the Step Functions
// console's graph, so a report can show where a run went and where it
// stopped without a console. States are drawn in definition order so the
// same inputs always give the same text (diffable, testable).
func Mermaid(definition string, entries []Entry) (string, error) {
	startAt, states, err := readDefinition(definition)
	if err != nil {
		return "", err
	}
	byName := make(map[string]*aslState, len(states))
	used := map[string]bool{"start": true, "finish": true}
	for i := range states {
		states[i].ID = nodeID(states[i].Name, used)
		byName[states[i].Name] = &states[i]
	}
	first, ok := byName[startAt]
	if !ok {
		return "", fmt.Errorf("read state machine definition: StartAt %q is not a state", startAt)
	}
	edges := []edge{{hop: hop{from: "start", to: first.ID}}}
	var bad error
	link := func(from *aslState, to, label string, dashed bool) {
		if t, ok := byName[to]; ok {
			edges = append(edges, edge{hop{from.ID, t.ID, dashed}, label})
		} else if bad == nil {
			bad = fmt.Errorf("read state machine definition: state %q goes to unknown state %q", from.Name, to)
		}
	}
	for i := range states {
		s := &states[i]
		if s.Next != "" {
			link(s, s.Next, "", false)
		}
		if terminal(s) {
			edges = append(edges, edge{hop: hop{from: s.ID, to: "finish"}})
		}
		if s.Default != "" {
			link(s, s.Default, "default", false)
		}
		for j, rule := range s.Choices {
			var next string
			_ = json.Unmarshal(rule["Next"], &next) // a missing Next is reported by link
			link(s, next, ruleLabel(rule, j+1), false)
		}
		for _, c := range s.Catch {
			link(s, c.Next, short("catch "+strings.Join(c.ErrorEquals, ", ")), true)
		}
	}
	if bad != nil {
		return "", bad
	}

	// The path: only top-level states count (states inside a Parallel or
	// Map are entered too, but have no node; skipping them joins the
	// Parallel to its successor).
	var path []Entry
	for _, e := range entries {
		if byName[e.State] != nil {
			path = append(path, e)
		}
	}
	entered, attempts := map[string]int{}, map[string]int{}
	retried, failed := map[string]bool{}, map[string]bool{}
	exists, taken := map[hop]bool{}, map[hop]bool{}
	for _, e := range edges {
		exists[e.hop] = true
	}
	lastError := -1
	for i, e := range path {
		s := byName[e.State]
		entered[s.Name]++
		attempts[s.Name] += e.Attempts
		retried[s.Name] = retried[s.Name] || e.Attempts > 1
		if e.Failed {
			lastError = i
		}
		failed[s.Name] = failed[s.Name] || s.Type == "Fail"
		// A state that failed and never exited left by a Catch; when the
		// definition has no such way, the history said otherwise.
		h := hop{from: "start", to: s.ID}
		if i > 0 {
			prev := path[i-1]
			h = hop{byName[prev.State].ID, s.ID, prev.Failed}
		}
		if !exists[h] {
			h.dashed = !h.dashed
		}
		taken[h] = true
	}
	if lastError >= 0 {
		failed[path[lastError].State] = true
	}
	if n := len(path); n > 0 {
		last := path[n-1]
		if s := byName[last.State]; terminal(s) && (!last.Exited.IsZero() || s.Type == "Fail") {
			taken[hop{from: s.ID, to: "finish"}] = true
		}
	}

	var b strings.Builder
	b.WriteString("flowchart TD\n    start((start))\n")
	var visitedIDs, failedIDs []string
	for _, s := range states {
		label := escape(s.Name + map[string]string{"Parallel": " (parallel)", "Map": " (map)"}[s.Type])
		var notes []string
		if n := entered[s.Name]; n > 1 {
			notes = append(notes, "×"+strconv.Itoa(n))
		}
		if retried[s.Name] {
			notes = append(notes, strconv.Itoa(attempts[s.Name])+" attempts")
		}
		if len(notes) > 0 {
			label += "<br/>" + escape(strings.Join(notes, ", "))
		}
		open, closing := "[", "]"
		switch s.Type {
		case "Choice":
			open, closing = "{", "}"
		case "Wait":
			open, closing = "([", "])"
		}
		fmt.Fprintf(&b, "    %s%s\"%s\"%s\n", s.ID, open, label, closing)
		switch {
		case failed[s.Name]:
			failedIDs = append(failedIDs, s.ID)
		case entered[s.Name] > 0:
			visitedIDs = append(visitedIDs, s.ID)
		}
	}
	b.WriteString("    finish((end))\n")
	for _, e := range edges {
		fmt.Fprintf(&b, "    %s %s %s\n", e.from, arrow(e, taken[e.hop]), e.to)
	}
	b.WriteString("    classDef visited fill:#d4edda,stroke:#28a745\n    classDef failed fill:#f8d7da,stroke:#dc3545\n")
	if len(visitedIDs) > 0 {
		fmt.Fprintf(&b, "    class %s visited\n", strings.Join(visitedIDs, ","))
	}
	if len(failedIDs) > 0 {
		fmt.Fprintf(&b, "    class %s failed\n", strings.Join(failedIDs, ","))
	}

	return b.String(), nil
}

// readDefinition reads StartAt and the top-level states in document order:
// a Go map would lose the order, so the States object is walked token by
// token.
func readDefinition(definition string) (string, []aslState, error) {
	var doc struct {
		StartAt string
		States  json.RawMessage
	}
	if err := json.Unmarshal([]byte(definition), &doc); err != nil {
		return "", nil, fmt.Errorf("read state machine definition: %w", err)
	}
	if len(doc.States) == 0 || string(doc.States) == "null" {
		return "", nil, fmt.Errorf("read state machine definition: no States")
	}
	dec := json.NewDecoder(bytes.NewReader(doc.States))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", nil, fmt.Errorf("read state machine definition: States is not an object")
	}
	var states []aslState
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", nil, fmt.Errorf("read state machine definition: %w", err)
		}
		name, _ := tok.(string) // object keys are always strings
		var s aslState
		if err := dec.Decode(&s); err != nil {
			return "", nil, fmt.Errorf("read state machine definition: state %q: %w", name, err)
		}
		if seen[name] {
			return "", nil, fmt.Errorf("read state machine definition: state %q defined twice", name)
		}
		seen[name], s.Name = true, name
		states = append(states, s)
	}
	if len(states) == 0 {
		return "", nil, fmt.Errorf("read state machine definition: no States")
	}

	return doc.StartAt, states, nil
}

// terminal reports whether a state ends the execution when it completes.
func terminal(s *aslState) bool { return s.End || s.Type == "Succeed" || s.Type == "Fail" }

// nodeID derives a Mermaid identifier from a state name (ASCII letters,
// digits, underscore), kept clear of Mermaid keywords and of the IDs
// already used, since state names may contain anything.
func nodeID(name string, used map[string]bool) string {
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, name)
	switch strings.ToLower(id) {
	case "", "end", "graph", "flowchart", "subgraph", "style", "class", "classdef", "click",
		"linkstyle", "default", "direction", "call", "href":
		id = "s_" + id
	}
	if id[0] >= '0' && id[0] <= '9' {
		id = "s_" + id
	}
	for base, n := id, 2; used[id]; n++ {
		id = base + "_" + strconv.Itoa(n)
	}
	used[id] = true

	return id
}

// ruleLabel names a Choice rule by its comparison ($.x == "y"), which is
// what a reader needs to see why the branch was taken; rules too complex
// for one line (And, Or, Not) fall back to their position.
func ruleLabel(rule map[string]json.RawMessage, n int) string {
	var variable string
	if json.Unmarshal(rule["Variable"], &variable) == nil {
		for _, key := range slices.Sorted(maps.Keys(rule)) {
			if label, ok := comparison(variable, key, rule[key]); ok {
				return short(label)
			}
		}
	}
	var condition string // JSONata: "{% … %}"
	if json.Unmarshal(rule["Condition"], &condition) == nil {
		return short(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(condition, "{%"), "%}")))
	}

	return "choice " + strconv.Itoa(n)
}

// comparison reads one ASL comparison operator (StringEquals,
// NumericGreaterThanEqualsPath, IsPresent, …); ok is false for any other key.
func comparison(variable, key string, value json.RawMessage) (string, bool) {
	switch key {
	case "IsPresent", "IsNull", "IsBoolean", "IsNumeric", "IsString", "IsTimestamp":
		word := " is "
		if string(value) == "false" {
			word = " is not "
		}
		return variable + word + strings.ToLower(strings.TrimPrefix(key, "Is")), true
	}
	base, isPath := strings.CutSuffix(key, "Path")
	for _, o := range [][2]string{{"GreaterThanEquals", ">="}, {"LessThanEquals", "<="},
		{"GreaterThan", ">"}, {"LessThan", "<"}, {"Equals", "=="}, {"Matches", "matches"}} {
		kind, ok := strings.CutSuffix(base, o[0])
		if !ok || (kind != "String" && kind != "Numeric" && kind != "Boolean" && kind != "Timestamp") {
			continue
		}
		operand := string(value)
		if s := ""; json.Unmarshal(value, &s) == nil { // without JSON escapes
			operand = `"` + s + `"`
			if isPath { // a path reads better unquoted
				operand = s
			}
		}
		return variable + " " + o[1] + " " + operand, true
	}

	return "", false
}

// short keeps an edge label to 40 characters: long labels push the graph
// apart.
func short(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:39]) + "…"
	}

	return s
}

// escape makes text safe inside a quoted Mermaid label, where a double
// quote would end the string and < > could be read as HTML.
func escape(s string) string {
	return strings.NewReplacer("#", "#35;", `"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}

// arrow is the link between two nodes: thick when the execution took it,
// dashed for a Catch, with its label quoted.
func arrow(e edge, taken bool) string {
	head, tail := "--", "-->"
	switch {
	case taken:
		head, tail = "==", "==>"
	case e.dashed:
		head, tail = "-.", ".->"
	}
	if e.label == "" {
		if e.dashed && !taken {
			return "-.->"
		}
		return tail
	}

	return head + ` "` + escape(e.label) + `" ` + tail
}
