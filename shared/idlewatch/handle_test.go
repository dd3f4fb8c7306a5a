package idlewatch

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestHandleLogsTheReport(t *testing.T) {
	w := newWorld(running("app"), dryRun(running("dry")))
	rep, err := w.watcher(t, testConfig()).Handle(context.Background(), events.EventBridgeEvent{ID: "ev-1", DetailType: "Scheduled Event", Time: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if rep.SleepsStarted != 1 || rep.WouldStop != 1 || len(rep.Actions) != 2 {
		t.Errorf("report %+v", rep)
	}
	lines := w.lines(t, "idle watch done")
	if len(lines) != 1 {
		t.Fatalf("%d summary lines: %s", len(lines), w.logs.String())
	}
	r, _ := lines[0]["report"].(map[string]any)
	if lines[0]["event"] != "ev-1" || r["rules"] != 2.0 || r["sleepsStarted"] != 1.0 || r["wouldStop"] != 1.0 || r["actions"] != nil {
		t.Errorf("summary line %v", lines[0])
	}

	w = newWorld(running("app"))
	w.rules.listErr = errBoom
	if _, err := w.watcher(t, testConfig()).Handle(context.Background(), events.EventBridgeEvent{}); err == nil {
		t.Error("Handle: no error when the rules cannot be listed")
	}
	if l := w.lines(t, "idle watch failed"); len(l) != 1 || l[0]["level"] != "ERROR" || l[0]["error"] == nil {
		t.Errorf("failure lines %v", l)
	}
}
