package targetgroup

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestListTagged(t *testing.T) {
	tests := []struct {
		name     string
		groups   int
		keep     func(elbtypes.TargetGroup) bool
		goneAt   int // a group deleted after the listing (index), -1 none
		want     []string
		wantTags int // DescribeTags calls
	}{
		{name: "every group, over pages and tag batches", groups: 25, goneAt: -1, want: names(0, 25), wantTags: 2},
		{name: "only the kept ones have their tags read", groups: 25, goneAt: -1,
			keep: func(g elbtypes.TargetGroup) bool { return strings.HasSuffix(aws.ToString(g.TargetGroupName), "-proxy") },
			want: []string{"g03-proxy", "g13-proxy", "g23-proxy"}, wantTags: 1},
		{name: "a group deleted since the listing is left out", groups: 3, goneAt: 1, want: []string{"g00", "g02"}, wantTags: 4},
		{name: "none", groups: 0, goneAt: -1, want: nil, wantTags: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGroups()
			for _, n := range names(0, tt.groups) {
				f.add(n, map[string]string{"name": n})
			}
			if tt.goneAt >= 0 {
				gone := f.groups[tt.goneAt].arn
				f.before["DescribeTags"] = func(f *fakeGroups) {
					f.groups = slices.DeleteFunc(f.groups, func(g *fakeGroup) bool { return g.arn == gone })
				}
			}
			got, err := ListTagged(context.Background(), f, tt.keep)
			if err != nil {
				t.Fatal(err)
			}
			var gotNames []string
			for _, g := range got {
				if g.Tags["name"] != aws.ToString(g.Group.TargetGroupName) {
					t.Errorf("%s has tags %v", g.ARN(), g.Tags)
				}
				gotNames = append(gotNames, aws.ToString(g.Group.TargetGroupName))
			}
			if !slices.Equal(gotNames, tt.want) {
				t.Errorf("listed %v, want %v", gotNames, tt.want)
			}
			var tagCalls int
			for _, c := range f.calls {
				if c == "DescribeTags" {
					tagCalls++
				}
			}
			if tagCalls != tt.wantTags {
				t.Errorf("%d DescribeTags calls, want %d", tagCalls, tt.wantTags)
			}
		})
	}
}

// names are g00 … (every tenth from 3 ends in -proxy).
func names(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		n := "g" + string(rune('0'+i/10)) + string(rune('0'+i%10))
		if i%10 == 3 {
			n += "-proxy"
		}
		out = append(out, n)
	}

	return out
}
