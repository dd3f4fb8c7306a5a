package awsproxy

import (
	"fmt"
	"testing"
)

// TestRecordKeepsTheNewestCalls: past MaxCalls the oldest half goes.
func TestRecordKeepsTheNewestCalls(t *testing.T) {
	p, err := New("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range MaxCalls + 10 {
		p.record(Call{Caller: "c", Status: i})
	}
	calls := p.Calls()
	if got, want := len(calls), MaxCalls/2+10; got != want {
		t.Fatalf("%d calls kept, want %d", got, want)
	}
	if first, last := calls[0].Status, calls[len(calls)-1].Status; first != MaxCalls/2 || last != MaxCalls+9 {
		t.Errorf("kept calls %d … %d, want %d … %d", first, last, MaxCalls/2, MaxCalls+9)
	}
}

// TestFaultRulesCountEveryCall: rules for consecutive calls of one
// operation fail each of those calls (every rule counts every call).
func TestFaultRulesCountEveryCall(t *testing.T) {
	p, err := New("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	for n := 2; n <= 4; n++ {
		p.FailNth("ec2", "StopInstances", n, AccessDenied)
	}
	op := Operation{Service: "ec2", Name: "StopInstances"}
	var got []bool
	for range 5 {
		_, fired := p.match("c", op)
		got = append(got, fired)
	}
	if want := []bool{false, true, true, true, false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls failed %v, want %v", got, want)
	}
}
