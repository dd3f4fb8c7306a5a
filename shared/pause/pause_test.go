package pause

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestFor(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{"waits", context.Background(), time.Millisecond, nil},
		{"zero", context.Background(), 0, nil},
		{"ended context", cancelled, time.Hour, context.Canceled},
		{"ended context, zero wait", cancelled, 0, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := For(tt.ctx, tt.d); !errors.Is(err, tt.want) {
				t.Errorf("For = %v, want %v", err, tt.want)
			}
		})
	}
}
