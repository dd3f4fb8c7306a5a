package conformance

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 33: Lambda code and configuration updates take time. After
// CreateFunction a function is Pending (StateReasonCode Creating), then
// Active; after UpdateFunctionCode or UpdateFunctionConfiguration its
// LastUpdateStatus is InProgress, then Successful. While Pending, Invoke,
// UpdateFunctionCode, UpdateFunctionConfiguration and PublishVersion fail
// with ResourceConflictException; while InProgress the last three do
// ("An update is in progress for resource: <arn>") and invocations go on.
// The SDK's FunctionActiveV2 and FunctionUpdatedV2 waiters wait through
// both. kumo keeps these phases only with realistic timing
// (KUMO_REALISTIC_TIMING, KUMO_LAMBDA_UPDATE_DELAY, 1 s here); without it a
// function is Active and an update Successful when the call returns.
func TestGap33LambdaUpdateInProgress(t *testing.T) {
	const (
		fnName = "gap33-states"
		delay  = time.Second
	)

	b := localawstest.StartWith(t, localaws.Options{
		RealisticTiming: true,
		KumoEnv:         map[string]string{"KUMO_LAMBDA_UPDATE_DELAY": delay.String()},
	})
	ctx := t.Context()
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(cfg)
	fnARN := "arn:aws:lambda:" + b.Region() + ":" + localaws.AccountID + ":function:" + fnName
	codeA, codeB := []byte("gap33 code A"), []byte("gap33 code B")

	if err := b.StartFunction(ctx, localaws.FunctionProcess{Name: fnName, Binary: localawstest.BuildFunction(t, "./testdata/echofn")}); err != nil {
		t.Fatal(err)
	}

	created, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(fnName), Role: aws.String(localaws.LambdaRoleARN), Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: codeA},
	})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	createdAt := time.Now()
	if created.State != lambdatypes.StatePending || created.StateReasonCode != lambdatypes.StateReasonCodeCreating {
		t.Errorf("CreateFunction: State %q (%q), want Pending (Creating)", created.State, created.StateReasonCode)
	}

	got, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fnName)})
	if err != nil {
		t.Fatalf("GetFunction while creating: %v", err)
	}
	if c := got.Configuration; c.State != lambdatypes.StatePending || aws.ToString(c.StateReason) != "The function is being created." {
		t.Errorf("GetFunction while creating: State %q (%q), want Pending (The function is being created.)", c.State, aws.ToString(c.StateReason))
	}

	pendingRefused := map[string]error{}
	_, pendingRefused["Invoke"] = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fnName), Payload: []byte(`{}`)})
	_, pendingRefused["UpdateFunctionConfiguration"] = lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fnName), Timeout: aws.Int32(9)})
	_, pendingRefused["UpdateFunctionCode"] = lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(fnName), ZipFile: codeB})
	_, pendingRefused["PublishVersion"] = lc.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fnName)})
	for op, err := range pendingRefused {
		gap33RequireConflict(t, op+" while Pending", err, "is currently in the following state")
	}

	waitOpts := func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	}
	if err := lambda.NewFunctionActiveV2Waiter(lc, waitOpts).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fnName)}, 10*time.Second); err != nil {
		t.Fatalf("FunctionActiveV2 waiter: %v", err)
	}
	if waited := time.Since(createdAt); waited > 5*time.Second {
		t.Errorf("Active %v after CreateFunction, want about %v", waited, delay)
	}
	got, err = lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fnName)})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Configuration; c.State != lambdatypes.StateActive || c.LastUpdateStatus != lambdatypes.LastUpdateStatusSuccessful {
		t.Errorf("once created: State %q LastUpdateStatus %q, want Active Successful", c.State, c.LastUpdateStatus)
	}

	upd, err := lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(fnName), ZipFile: codeB})
	if err != nil {
		t.Fatalf("UpdateFunctionCode once Active: %v", err)
	}
	if upd.State != lambdatypes.StateActive || upd.LastUpdateStatus != lambdatypes.LastUpdateStatusInProgress || upd.LastUpdateStatusReasonCode != "Creating" {
		t.Errorf("UpdateFunctionCode: State %q LastUpdateStatus %q (%q), want Active InProgress (Creating)", upd.State, upd.LastUpdateStatus, upd.LastUpdateStatusReasonCode)
	}

	conf, err := lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fnName)})
	if err != nil {
		t.Fatal(err)
	}
	if conf.LastUpdateStatus != lambdatypes.LastUpdateStatusInProgress || conf.State != lambdatypes.StateActive {
		t.Errorf("GetFunctionConfiguration while updating: State %q LastUpdateStatus %q, want Active InProgress", conf.State, conf.LastUpdateStatus)
	}

	updateRefused := map[string]error{}
	_, updateRefused["UpdateFunctionConfiguration"] = lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fnName), Timeout: aws.Int32(9)})
	_, updateRefused["UpdateFunctionCode"] = lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(fnName), ZipFile: codeA})
	_, updateRefused["PublishVersion"] = lc.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fnName)})
	for op, err := range updateRefused {
		gap33RequireConflict(t, op+" while InProgress", err, "An update is in progress for resource: "+fnARN)
	}

	// Invocations go on during an update.
	if out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fnName), Payload: []byte(`{"during":"update"}`)}); err != nil {
		t.Errorf("Invoke while InProgress: %v, want it to run", err)
	} else if out.FunctionError != nil {
		t.Errorf("Invoke while InProgress: function error %q: %s", aws.ToString(out.FunctionError), out.Payload)
	}

	updOpts := func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(lc, updOpts).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fnName)}, 10*time.Second); err != nil {
		t.Fatalf("FunctionUpdatedV2 waiter: %v", err)
	}

	// The refused calls changed nothing; now publishing works.
	v, err := lc.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fnName), CodeSha256: upd.CodeSha256})
	if err != nil {
		t.Fatalf("PublishVersion once the update is Successful: %v", err)
	}
	if aws.ToString(v.CodeSha256) != gap11Sha(codeB) || aws.ToInt32(v.Timeout) != 3 || v.State != lambdatypes.StateActive {
		t.Errorf("version %s: CodeSha256 %s Timeout %d State %q, want code B, 3, Active (the refused updates must not have applied)",
			aws.ToString(v.Version), aws.ToString(v.CodeSha256), aws.ToInt32(v.Timeout), v.State)
	}
}

// Gap 33 (the version half): a published version keeps the deployment
// package it was published with. GetFunction of a version, or of an alias
// pointing to it, returns that version's CodeSha256 and a Code.Location
// that downloads that version's zip, not $LATEST's. kumo runs no code: the
// project's runner decides which binary runs for a version (README, "How a
// Lambda version's code runs locally"); this is what lets it find out.
// Without realistic timing the states are settled at once.
func TestGap33LambdaVersionKeepsItsCode(t *testing.T) {
	const fnName = "gap33-code"

	b := localawstest.Start(t)
	ctx := t.Context()
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(cfg)
	codeA, codeB := []byte("gap33 version code A"), []byte("gap33 version code B")

	created, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(fnName), Role: aws.String(localaws.LambdaRoleARN), Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: codeA}, Publish: true,
	})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	if created.State != lambdatypes.StateActive || aws.ToString(created.Version) != "1" {
		t.Errorf("CreateFunction (Publish): State %q Version %q, want Active 1 (no realistic timing: settled at once)", created.State, aws.ToString(created.Version))
	}
	if _, err := lc.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(fnName), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}

	upd, err := lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(fnName), ZipFile: codeB})
	if err != nil {
		t.Fatalf("UpdateFunctionCode: %v", err)
	}
	if upd.State != lambdatypes.StateActive || upd.LastUpdateStatus != lambdatypes.LastUpdateStatusSuccessful {
		t.Errorf("UpdateFunctionCode: State %q LastUpdateStatus %q, want Active Successful at once", upd.State, upd.LastUpdateStatus)
	}
	// Settled: the waiter returns at once and a publish right after works.
	if err := lambda.NewFunctionUpdatedV2Waiter(lc).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fnName)}, 2*time.Second); err != nil {
		t.Errorf("FunctionUpdatedV2 waiter right after UpdateFunctionCode: %v", err)
	}
	if _, err := lc.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fnName)}); err != nil {
		t.Errorf("PublishVersion right after UpdateFunctionCode: %v", err)
	}

	locations := map[string]string{}
	for _, tc := range []struct {
		name, functionName, qualifier string
		want                          []byte
	}{
		{"$LATEST", fnName, "", codeB},
		{"version 1", fnName, "1", codeA},
		{"alias live -> 1", fnName + ":live", "", codeA},
		{"version 2", fnName, "2", codeB},
	} {
		out, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(tc.functionName), Qualifier: gap11Opt(tc.qualifier)})
		if err != nil {
			t.Errorf("%s: GetFunction: %v", tc.name, err)
			continue
		}
		if got := aws.ToString(out.Configuration.CodeSha256); got != gap11Sha(tc.want) {
			t.Errorf("%s: CodeSha256 %s, want %s", tc.name, got, gap11Sha(tc.want))
		}
		loc := aws.ToString(out.Code.Location)
		locations[tc.name] = loc
		zip, err := gap33Download(t, loc)
		if err != nil {
			t.Errorf("%s: download Code.Location %q: %v", tc.name, loc, err)
			continue
		}
		if !bytes.Equal(zip, tc.want) {
			t.Errorf("%s: Code.Location %q holds %q, want %q", tc.name, loc, zip, tc.want)
		}
	}
	if locations["$LATEST"] == locations["version 1"] {
		t.Errorf("$LATEST and version 1 share Code.Location %q", locations["version 1"])
	}
}

// gap33Download fetches a Code.Location (a presigned URL on AWS: no
// signature needed).
func gap33Download(t *testing.T, loc string) ([]byte, error) {
	t.Helper()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, loc, nil)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status + ": " + strings.TrimSpace(string(body)))
	}
	return body, nil
}

// gap33RequireConflict checks that err is a ResourceConflictException whose
// message contains want.
func gap33RequireConflict(t *testing.T, what string, err error, want string) {
	t.Helper()

	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ResourceConflictException" || !strings.Contains(apiErr.ErrorMessage(), want) {
		t.Errorf("%s: got %v, want ResourceConflictException containing %q", what, err, want)
	}
}
