package rulestore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/autostop/autostop/shared/rulestore"
)

// TestDeleteOnlyTheAttachersItem: Delete removes the item its attacher
// wrote, leaves another attacher's, and treats a missing item as done.
func TestDeleteOnlyTheAttachersItem(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	host := "app.autostop.example.test"
	if _, err := s.Create(ctx, sampleItem(host, rulestore.Stopped)); err != nil { // attached by evt-1
		t.Fatal(err)
	}

	deleted, err := s.Delete(ctx, host, "evt-2")
	if !errors.Is(err, rulestore.ErrHostTaken) || deleted {
		t.Fatalf("Delete by another attacher = %v, %v; want ErrHostTaken, nothing deleted", deleted, err)
	}
	if _, err := s.Get(ctx, host, true); err != nil {
		t.Fatalf("the item is gone after a refused delete: %v", err)
	}

	deleted, err = s.Delete(ctx, "App.AutoStop.Example.Test.", "evt-1")
	if err != nil || !deleted {
		t.Fatalf("Delete by its attacher = %v, %v; want deleted", deleted, err)
	}
	if _, err := s.Get(ctx, host, true); !errors.Is(err, rulestore.ErrNotFound) {
		t.Fatalf("after Delete: %v, want ErrNotFound", err)
	}

	deleted, err = s.Delete(ctx, host, "evt-1")
	if err != nil || deleted {
		t.Errorf("second Delete = %v, %v; want nothing to do", deleted, err)
	}
}
