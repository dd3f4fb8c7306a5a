package cli

import (
	"encoding/json"
	"fmt"
	"strings"
)

// waitSpec is how a Wait state waits, from the state machine's definition.
// The history does not say, so the definition and the state's input do.
type waitSpec struct {
	Seconds       *float64 `json:"Seconds"`
	SecondsPath   string   `json:"SecondsPath"`
	Timestamp     string   `json:"Timestamp"`
	TimestampPath string   `json:"TimestampPath"`
}

// waitStates returns the Wait states of an ASL definition (top level and
// nested in Parallel branches and Map iterators), by name. A definition that
// does not parse gives none: the progress then shows Wait states without
// their wait.
func waitStates(definition string) map[string]waitSpec {
	waits := map[string]waitSpec{}
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var machine struct {
			States map[string]struct {
				Type string `json:"Type"`
				waitSpec
				Branches      []json.RawMessage `json:"Branches"`
				Iterator      json.RawMessage   `json:"Iterator"`
				ItemProcessor json.RawMessage   `json:"ItemProcessor"`
			} `json:"States"`
		}
		if json.Unmarshal(raw, &machine) != nil {
			return
		}
		for name, s := range machine.States {
			if s.Type == "Wait" {
				waits[name] = s.waitSpec
			}
			for _, b := range append(s.Branches, s.Iterator, s.ItemProcessor) {
				if len(b) > 0 {
					walk(b)
				}
			}
		}
	}
	walk(json.RawMessage(definition))

	return waits
}

// describe says how long the state waits given its input: "wait 15s",
// "wait until 2025-01-01T00:00:00Z", or "" when unknown.
func (w waitSpec) describe(input string) string {
	switch {
	case w.Seconds != nil:
		return "wait " + seconds(*w.Seconds)
	case w.Timestamp != "":
		return "wait until " + w.Timestamp
	case w.SecondsPath != "":
		if v, ok := jsonPath(input, w.SecondsPath).(float64); ok {
			return "wait " + seconds(v)
		}
	case w.TimestampPath != "":
		if v, ok := jsonPath(input, w.TimestampPath).(string); ok {
			return "wait until " + v
		}
	}

	return ""
}

func seconds(v float64) string { return fmt.Sprintf("%gs", v) }

// jsonPath resolves a simple reference path ("$", "$.a.b") in a JSON
// document; anything else resolves to nil.
func jsonPath(doc, path string) any {
	var v any
	if json.Unmarshal([]byte(doc), &v) != nil {
		return nil
	}
	rest, ok := strings.CutPrefix(path, "$")
	if !ok {
		return nil
	}
	for _, field := range strings.Split(strings.TrimPrefix(rest, "."), ".") {
		if field == "" {
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[field]
	}

	return v
}
