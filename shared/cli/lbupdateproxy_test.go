package cli

import (
	"bytes"
	"testing"
)

func TestAliasOutcome(t *testing.T) {
	const located = `"located":{"aliasArn":"arn:aws:lambda:us-east-1:1:function:autostop-proxy:live","previousVersion":"2"}`
	for _, c := range []struct {
		name, lastOutput string
		want             *AliasOutcome
		says             string
	}{
		{name: "failed before the alias was found", lastOutput: `{"request":{"name":"web"}}`},
		{name: "failed before the move (test invoke)", lastOutput: `{` + located + `,"published":{"version":"3"}}`,
			want: &AliasOutcome{AliasARN: "arn:aws:lambda:us-east-1:1:function:autostop-proxy:live", Version: "2"},
			says: "did not move: arn:aws:lambda:us-east-1:1:function:autostop-proxy:live points at version 2, as before"},
		{name: "moved, verification failed, moved back", lastOutput: `{` + located + `,"moved":{"from":"2","to":"3"},"movedBack":{"from":"3","to":"2"}}`,
			want: &AliasOutcome{AliasARN: "arn:aws:lambda:us-east-1:1:function:autostop-proxy:live", Version: "2", Moved: true, MovedBack: true},
			says: "moved back: arn:aws:lambda:us-east-1:1:function:autostop-proxy:live points at version 2 again"},
		{name: "the move failed, nothing to move back", lastOutput: `{` + located + `,"movedBack":{"from":"2","to":"2"}}`,
			want: &AliasOutcome{AliasARN: "arn:aws:lambda:us-east-1:1:function:autostop-proxy:live", Version: "2"},
			says: "did not move"},
		{name: "moved, the move back failed", lastOutput: `{` + located + `,"moved":{"from":"2","to":"3"},"moveBackError":{"Error":"AccessDenied"}}`,
			want: &AliasOutcome{AliasARN: "arn:aws:lambda:us-east-1:1:function:autostop-proxy:live", Version: "3", Moved: true},
			says: "NOT moved back: arn:aws:lambda:us-east-1:1:function:autostop-proxy:live points at the new version 3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := aliasOutcome(c.lastOutput)
			if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
				t.Fatalf("aliasOutcome = %+v, want %+v", got, c.want)
			}
			var b bytes.Buffer
			printFailure(&b, Failure{Status: "FAILED", Error: "CheckFailed", Alias: got})
			if c.says != "" && !bytes.Contains(b.Bytes(), []byte(c.says)) {
				t.Errorf("printed:\n%s\nwant it to say %q", b.String(), c.says)
			}
		})
	}
}
