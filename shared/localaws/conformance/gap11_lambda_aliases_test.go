package conformance

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 11: Lambda versions and aliases. PublishVersion snapshots $LATEST as
// "1", "2", …; aliases point to versions; a qualifier (Qualifier parameter,
// "fn:live", "fn:1", qualified ARN) selects a version or alias in
// GetFunction, the permission operations (one policy per qualifier) and
// Invoke. kumo runs no code: an invocation of a version or alias goes to the
// processes polling /_runtime/<fn>:<qualifier>, then /_runtime/<fn>:<version>,
// then /_runtime/<fn> ($LATEST).
func TestGap11LambdaVersionsAliases(t *testing.T) {
	const fnName = "gap11-fn"

	b := localawstest.Start(t)
	ctx := t.Context()

	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}

	lc := lambda.NewFromConfig(cfg)
	fnARN := "arn:aws:lambda:" + b.Region() + ":" + localaws.AccountID + ":function:" + fnName
	codeA, codeB := []byte("gap11 code A"), []byte("gap11 code B")

	_, err = lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(fnName),
		Role:         aws.String(localaws.LambdaRoleARN),
		Runtime:      lambdatypes.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Timeout:      aws.Int32(10),
		Code:         &lambdatypes.FunctionCode{ZipFile: codeA},
	})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}

	// steps run in order; each builds on the state the previous ones left.
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"PublishVersion", func(t *testing.T) {
			v1, err := lc.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fnName), Description: aws.String("first")})
			if err != nil {
				t.Fatalf("PublishVersion: %v", err)
			}
			gap11RequireVersion(t, "first publish", v1.Version, v1.FunctionArn, v1.CodeSha256, "1", fnARN+":1", gap11Sha(codeA))

			again, err := lc.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fnName), CodeSha256: aws.String(gap11Sha(codeA))})
			if err != nil {
				t.Fatalf("PublishVersion of unchanged $LATEST: %v", err)
			}
			if aws.ToString(again.Version) != "1" {
				t.Errorf("PublishVersion of unchanged $LATEST: got Version %q, want the existing version \"1\"", aws.ToString(again.Version))
			}

			_, err = lc.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fnName), CodeSha256: aws.String(gap11Sha(codeB))})
			gap11RequireAPIError(t, "PublishVersion with a stale CodeSha256", err, "InvalidParameterValueException")

			_, err = lc.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fnName), RevisionId: aws.String("not-the-revision")})
			gap11RequireAPIError(t, "PublishVersion with a stale RevisionId", err, "PreconditionFailedException")

			upd, err := lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(fnName), ZipFile: codeB})
			if err != nil {
				t.Fatalf("UpdateFunctionCode: %v", err)
			}
			v2, err := lc.PublishVersion(ctx, &lambda.PublishVersionInput{
				FunctionName: aws.String(fnName), CodeSha256: aws.String(gap11Sha(codeB)), RevisionId: upd.RevisionId,
			})
			if err != nil {
				t.Fatalf("PublishVersion after UpdateFunctionCode: %v", err)
			}
			gap11RequireVersion(t, "second publish", v2.Version, v2.FunctionArn, v2.CodeSha256, "2", fnARN+":2", gap11Sha(codeB))

			list, err := lc.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(fnName)})
			if err != nil {
				t.Fatalf("ListVersionsByFunction: %v", err)
			}
			var got []string
			for _, v := range list.Versions {
				got = append(got, aws.ToString(v.Version)+"="+aws.ToString(v.CodeSha256))
			}
			want := []string{"$LATEST=" + gap11Sha(codeB), "1=" + gap11Sha(codeA), "2=" + gap11Sha(codeB)}
			if !slices.Equal(got, want) {
				t.Errorf("ListVersionsByFunction: got %v, want %v", got, want)
			}
		}},
		{"alias CRUD", func(t *testing.T) {
			live, err := lc.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(fnName), Name: aws.String("live"), FunctionVersion: aws.String("2")})
			if err != nil {
				t.Fatalf("CreateAlias live: %v", err)
			}
			if got := aws.ToString(live.AliasArn); got != fnARN+":live" {
				t.Errorf("CreateAlias AliasArn: got %q, want %q", got, fnARN+":live")
			}

			errCases := []struct {
				name string
				call func() error
				want string
			}{
				{"duplicate alias", func() error {
					_, err := lc.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(fnName), Name: aws.String("live"), FunctionVersion: aws.String("1")})
					return err
				}, "ResourceConflictException"},
				{"alias of a missing version", func() error {
					_, err := lc.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(fnName), Name: aws.String("ghost"), FunctionVersion: aws.String("9")})
					return err
				}, "ResourceNotFoundException"},
				{"GetAlias of a missing alias", func() error {
					_, err := lc.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(fnName), Name: aws.String("ghost")})
					return err
				}, "ResourceNotFoundException"},
				{"UpdateAlias of a missing alias", func() error {
					_, err := lc.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(fnName), Name: aws.String("ghost"), FunctionVersion: aws.String("1")})
					return err
				}, "ResourceNotFoundException"},
				{"UpdateAlias with a stale RevisionId", func() error {
					_, err := lc.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(fnName), Name: aws.String("live"), FunctionVersion: aws.String("1"), RevisionId: aws.String("stale")})
					return err
				}, "PreconditionFailedException"},
			}
			for _, tc := range errCases {
				gap11RequireAPIError(t, tc.name, tc.call(), tc.want)
			}

			upd, err := lc.UpdateAlias(ctx, &lambda.UpdateAliasInput{
				FunctionName: aws.String(fnName), Name: aws.String("live"), FunctionVersion: aws.String("1"),
				Description: aws.String("stable"), RevisionId: live.RevisionId,
			})
			if err != nil {
				t.Fatalf("UpdateAlias live -> 1: %v", err)
			}
			if aws.ToString(upd.FunctionVersion) != "1" || aws.ToString(upd.Description) != "stable" {
				t.Errorf("UpdateAlias: got version %q description %q, want \"1\" \"stable\"", aws.ToString(upd.FunctionVersion), aws.ToString(upd.Description))
			}

			for _, a := range []struct{ name, version string }{{"edge", "2"}, {"tmp", "$LATEST"}} {
				if _, err := lc.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(fnName), Name: aws.String(a.name), FunctionVersion: aws.String(a.version)}); err != nil {
					t.Fatalf("CreateAlias %s: %v", a.name, err)
				}
			}
			if _, err := lc.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String(fnName), Name: aws.String("tmp")}); err != nil {
				t.Fatalf("DeleteAlias tmp: %v", err)
			}
			got, err := lc.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(fnName), Name: aws.String("live")})
			if err != nil || aws.ToString(got.FunctionVersion) != "1" {
				t.Errorf("GetAlias live: got %v, %v; want FunctionVersion 1", gap11AliasVersion(got), err)
			}

			list, err := lc.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String(fnName)})
			if err != nil {
				t.Fatalf("ListAliases: %v", err)
			}
			var names []string
			for _, a := range list.Aliases {
				names = append(names, aws.ToString(a.Name)+"->"+aws.ToString(a.FunctionVersion))
			}
			if want := []string{"edge->2", "live->1"}; !slices.Equal(names, want) {
				t.Errorf("ListAliases: got %v, want %v", names, want)
			}
		}},
		{"qualified GetFunction", func(t *testing.T) {
			cases := []struct {
				name, functionName, qualifier string
				wantVersion, wantArn, wantSha string
			}{
				{"unqualified", fnName, "", "$LATEST", fnARN, gap11Sha(codeB)},
				{"Qualifier version", fnName, "1", "1", fnARN + ":1", gap11Sha(codeA)},
				{"name:version", fnName + ":1", "", "1", fnARN + ":1", gap11Sha(codeA)},
				{"name:alias", fnName + ":live", "", "1", fnARN + ":live", gap11Sha(codeA)},
				{"Qualifier alias", fnName, "edge", "2", fnARN + ":edge", gap11Sha(codeB)},
				{"qualified ARN", fnARN + ":live", "", "1", fnARN + ":live", gap11Sha(codeA)},
			}
			for _, tc := range cases {
				out, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(tc.functionName), Qualifier: gap11Opt(tc.qualifier)})
				if err != nil {
					t.Errorf("%s: GetFunction(%s, Qualifier %q): %v", tc.name, tc.functionName, tc.qualifier, err)
					continue
				}
				c := out.Configuration
				gap11RequireVersion(t, tc.name+": GetFunction", c.Version, c.FunctionArn, c.CodeSha256, tc.wantVersion, tc.wantArn, tc.wantSha)

				conf, err := lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(tc.functionName), Qualifier: gap11Opt(tc.qualifier)})
				if err != nil {
					t.Errorf("%s: GetFunctionConfiguration: %v", tc.name, err)
					continue
				}
				gap11RequireVersion(t, tc.name+": GetFunctionConfiguration", conf.Version, conf.FunctionArn, conf.CodeSha256, tc.wantVersion, tc.wantArn, tc.wantSha)
			}

			for _, missing := range []string{fnName + ":7", fnName + ":nope"} {
				_, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(missing)})
				gap11RequireAPIError(t, "GetFunction "+missing, err, "ResourceNotFoundException")
			}
		}},
		{"permissions per qualifier", func(t *testing.T) {
			adds := []struct{ sid, qualifier string }{{"allow-live", "live"}, {"allow-fn", ""}, {"allow-v2", "2"}}
			for _, a := range adds {
				_, err := lc.AddPermission(ctx, &lambda.AddPermissionInput{
					FunctionName: aws.String(fnName), Qualifier: gap11Opt(a.qualifier), StatementId: aws.String(a.sid),
					Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("elasticloadbalancing.amazonaws.com"),
				})
				if err != nil {
					t.Fatalf("AddPermission %s (Qualifier %q): %v", a.sid, a.qualifier, err)
				}
			}

			policies := []struct {
				qualifier string
				want      map[string]string // Sid -> Resource
			}{
				{"", map[string]string{"allow-fn": fnARN}},
				{"live", map[string]string{"allow-live": fnARN + ":live"}},
				{"2", map[string]string{"allow-v2": fnARN + ":2"}},
			}
			for _, p := range policies {
				got, err := gap11Policy(ctx, lc, fnName, p.qualifier)
				if err != nil {
					t.Errorf("GetPolicy (Qualifier %q): %v", p.qualifier, err)
					continue
				}
				if !gap11MapsEqual(got, p.want) {
					t.Errorf("GetPolicy (Qualifier %q): got statements %v, want %v", p.qualifier, got, p.want)
				}
			}

			_, err := lc.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(fnName), Qualifier: aws.String("1")})
			gap11RequireAPIError(t, "GetPolicy of a version without a policy", err, "ResourceNotFoundException")

			_, err = lc.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(fnName), Qualifier: aws.String("live"), StatementId: aws.String("allow-fn")})
			gap11RequireAPIError(t, "RemovePermission of another qualifier's statement", err, "ResourceNotFoundException")

			if _, err := lc.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(fnName), Qualifier: aws.String("live"), StatementId: aws.String("allow-live")}); err != nil {
				t.Errorf("RemovePermission allow-live from live: %v", err)
			}
			if got, err := gap11Policy(ctx, lc, fnName, ""); err != nil || !gap11MapsEqual(got, map[string]string{"allow-fn": fnARN}) {
				t.Errorf("unqualified policy after removing the alias's statement: got %v, %v; want allow-fn only", got, err)
			}
		}},
		{"Invoke qualified", func(t *testing.T) {
			bin := localawstest.BuildFunction(t, "./testdata/echofn")
			for _, p := range []localaws.FunctionProcess{
				{Name: fnName, Binary: bin, Env: map[string]string{"ECHO_TAG": "latest"}},
				{Name: fnName + ":1", Binary: bin, Env: map[string]string{"ECHO_TAG": "version-1"}},
			} {
				if err := b.StartFunction(ctx, p); err != nil {
					t.Fatalf("start runtime poller %s: %v", p.Name, err)
				}
			}

			cases := []struct {
				name, functionName, qualifier  string
				wantTag, wantExecuted, wantArn string
			}{
				{"unqualified", fnName, "", "latest", "$LATEST", ""},
				{"version with its own poller", fnName + ":1", "", "version-1", "1", fnARN + ":1"},
				{"alias -> version 1 (Qualifier)", fnName, "live", "version-1", "1", fnARN + ":live"},
				{"alias ARN -> version 1", fnARN + ":live", "", "version-1", "1", fnARN + ":live"},
				{"alias -> version 2, falls back to the $LATEST poller", fnName + ":edge", "", "latest", "2", fnARN + ":edge"},
				{"version without a poller falls back to $LATEST", fnName, "2", "latest", "2", fnARN + ":2"},
			}
			for _, tc := range cases {
				out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(tc.functionName), Qualifier: gap11Opt(tc.qualifier), Payload: []byte(`{"n":1}`)})
				if err != nil {
					t.Errorf("%s: Invoke(%s, Qualifier %q): %v", tc.name, tc.functionName, tc.qualifier, err)
					continue
				}
				var resp struct {
					Tag        string          `json:"tag"`
					InvokedArn string          `json:"invokedArn"`
					Event      json.RawMessage `json:"event"`
				}
				if err := json.Unmarshal(out.Payload, &resp); err != nil || aws.ToString(out.FunctionError) != "" {
					t.Errorf("%s: Invoke payload %s (FunctionError %q): %v", tc.name, out.Payload, aws.ToString(out.FunctionError), err)
					continue
				}
				if resp.Tag != tc.wantTag || string(resp.Event) != `{"n":1}` {
					t.Errorf("%s: handled by ECHO_TAG=%q with event %s, want ECHO_TAG=%q with {\"n\":1}", tc.name, resp.Tag, resp.Event, tc.wantTag)
				}
				if got := aws.ToString(out.ExecutedVersion); got != tc.wantExecuted {
					t.Errorf("%s: ExecutedVersion %q, want %q", tc.name, got, tc.wantExecuted)
				}
				if tc.wantArn != "" && resp.InvokedArn != tc.wantArn {
					t.Errorf("%s: function saw invoked ARN %q, want %q", tc.name, resp.InvokedArn, tc.wantArn)
				}
			}

			_, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fnName + ":9")})
			gap11RequireAPIError(t, "Invoke of a missing version", err, "ResourceNotFoundException")
		}},
		{"Step Functions task on an alias ARN", func(t *testing.T) {
			gap11SFNAliasTask(t, ctx, cfg, fnARN)
		}},
		{"ELBv2 RegisterTargets with an alias ARN", func(t *testing.T) {
			gap11ELBRegisterAlias(t, ctx, cfg, b.Endpoint(), b.Region(), fnARN+":live")
		}},
		{"DeleteFunction of a version", func(t *testing.T) {
			_, err := lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(fnName), Qualifier: aws.String("1")})
			gap11RequireAPIError(t, "DeleteFunction of a version an alias references", err, "ResourceConflictException")

			if _, err := lc.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(fnName), Name: aws.String("live"), FunctionVersion: aws.String("2")}); err != nil {
				t.Fatalf("UpdateAlias live -> 2: %v", err)
			}
			if _, err := lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(fnName), Qualifier: aws.String("1")}); err != nil {
				t.Fatalf("DeleteFunction version 1: %v", err)
			}
			list, err := lc.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(fnName)})
			if err != nil {
				t.Fatalf("ListVersionsByFunction: %v", err)
			}
			var got []string
			for _, v := range list.Versions {
				got = append(got, aws.ToString(v.Version))
			}
			if want := []string{"$LATEST", "2"}; !slices.Equal(got, want) {
				t.Errorf("versions after deleting 1: got %v, want %v", got, want)
			}
			if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fnName)}); err != nil {
				t.Errorf("GetFunction after deleting a version: %v (the function must remain)", err)
			}
		}},
	}

	for _, step := range steps {
		if !t.Run(step.name, step.run) {
			return // later steps depend on this one
		}
	}
}

// gap11SFNAliasTask runs a state machine whose Task resource is the alias
// ARN fnARN:live and checks that the alias's version (through its own
// runtime poller, ECHO_TAG=version-1) answered. It is skipped when Step
// Functions cannot reach Lambda at all on this kumo (gap 4).
func gap11SFNAliasTask(t *testing.T, ctx context.Context, cfg aws.Config, fnARN string) {
	t.Helper()

	sc := sfn.NewFromConfig(cfg)

	run := func(name, resource string) (*sfn.DescribeExecutionOutput, map[string]any) {
		def := `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"` + resource + `","End":true}}}`
		sm, err := sc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name: aws.String(name), Definition: aws.String(def),
			RoleArn: aws.String("arn:aws:iam::" + localaws.AccountID + ":role/gap11-sfn"),
		})
		if err != nil {
			t.Fatalf("CreateStateMachine %s: %v", name, err)
		}
		start, err := sc.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"n":2}`)})
		if err != nil {
			t.Fatalf("StartExecution %s: %v", name, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			out, err := sc.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: start.ExecutionArn})
			if err != nil {
				t.Fatalf("DescribeExecution %s: %v", name, err)
			}
			if out.Status != sfntypes.ExecutionStatusRunning {
				var payload map[string]any
				_ = json.Unmarshal([]byte(aws.ToString(out.Output)), &payload)
				return out, payload
			}
			if time.Now().After(deadline) {
				t.Fatalf("execution %s still RUNNING after 30s", name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	if out, _ := run("gap11-unqualified", fnARN); out.Status != sfntypes.ExecutionStatusSucceeded {
		t.Skipf("Step Functions cannot invoke the unqualified function on this kumo (status %s, cause %q): gap 4 is not fixed here", out.Status, aws.ToString(out.Cause))
	}

	out, payload := run("gap11-alias", fnARN+":live")
	if out.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("Task on alias ARN: status %s, error %q, cause %q", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	if payload["tag"] != "version-1" || payload["invokedArn"] != fnARN+":live" {
		t.Errorf("Task on alias ARN: output %s, want the answer of version 1's poller (tag version-1) invoked as %s:live", aws.ToString(out.Output), fnARN)
	}
}

// gap11ELBRegisterAlias registers a qualified Lambda ARN as the target of a
// lambda target group (as with a Lambda alias behind an ALB) and reads it
// back with DescribeTargetHealth. ELBv2 is called with signed Query requests:
// the project does not depend on the ELBv2 SDK module.
func gap11ELBRegisterAlias(t *testing.T, ctx context.Context, cfg aws.Config, endpoint, region, aliasARN string) {
	t.Helper()

	call := func(form url.Values) string {
		form.Set("Version", "2015-12-01")
		body := form.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "elasticloadbalancing", region, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("ELBv2 %s: %v", form.Get("Action"), err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("ELBv2 %s: HTTP %d: %s", form.Get("Action"), resp.StatusCode, out)
		}
		return string(out)
	}

	created := call(url.Values{"Action": {"CreateTargetGroup"}, "Name": {"gap11-tg"}, "TargetType": {"lambda"}})
	m := regexp.MustCompile(`<TargetGroupArn>([^<]+)</TargetGroupArn>`).FindStringSubmatch(created)
	if m == nil {
		t.Fatalf("CreateTargetGroup: no TargetGroupArn in %s", created)
	}

	// ELB may register the alias only if it may invoke it (gap 34).
	fn, qualifier, _ := strings.Cut(strings.TrimPrefix(aliasARN[strings.Index(aliasARN, ":function:")+len(":function:"):], ""), ":")
	if _, err := lambda.NewFromConfig(cfg).AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String(fn), Qualifier: aws.String(qualifier), StatementId: aws.String("gap11-elb"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("elasticloadbalancing.amazonaws.com"), SourceArn: aws.String(m[1]),
	}); err != nil {
		t.Fatalf("allow the target group to invoke %s: %v", aliasARN, err)
	}
	call(url.Values{"Action": {"RegisterTargets"}, "TargetGroupArn": {m[1]}, "Targets.member.1.Id": {aliasARN}})

	health := call(url.Values{"Action": {"DescribeTargetHealth"}, "TargetGroupArn": {m[1]}})
	if !strings.Contains(health, "<Id>"+aliasARN+"</Id>") {
		t.Errorf("DescribeTargetHealth: target %s not listed in %s", aliasARN, health)
	}
}

// gap11Policy returns the Sid -> Resource map of a function's policy for a
// qualifier.
func gap11Policy(ctx context.Context, lc *lambda.Client, fn, qualifier string) (map[string]string, error) {
	out, err := lc.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(fn), Qualifier: gap11Opt(qualifier)})
	if err != nil {
		return nil, err
	}

	var doc struct {
		Statement []struct {
			Sid      string `json:"Sid"`
			Resource string `json:"Resource"`
		} `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc); err != nil {
		return nil, err
	}

	got := map[string]string{}
	for _, s := range doc.Statement {
		got[s.Sid] = s.Resource
	}

	return got, nil
}

func gap11MapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// gap11RequireVersion checks a function configuration's Version,
// FunctionArn and CodeSha256.
func gap11RequireVersion(t *testing.T, what string, version, arn, sha *string, wantVersion, wantArn, wantSha string) {
	t.Helper()

	if aws.ToString(version) != wantVersion || aws.ToString(arn) != wantArn || aws.ToString(sha) != wantSha {
		t.Errorf("%s: got Version %q FunctionArn %q CodeSha256 %q, want %q %q %q",
			what, aws.ToString(version), aws.ToString(arn), aws.ToString(sha), wantVersion, wantArn, wantSha)
	}
}

// gap11RequireAPIError checks that err is the AWS error code want.
func gap11RequireAPIError(t *testing.T, what string, err error, want string) {
	t.Helper()

	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != want {
		t.Errorf("%s: got error %v, want %s", what, err, want)
	}
}

func gap11Sha(code []byte) string {
	sum := sha256.Sum256(code)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func gap11Opt(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func gap11AliasVersion(a *lambda.GetAliasOutput) string {
	if a == nil {
		return "<nil>"
	}
	return aws.ToString(a.FunctionVersion)
}
