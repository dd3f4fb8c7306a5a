package proxyupdate

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// States of Published.State besides Lambda's own (Pending, Active,
// Failed).
const (
	// StateUpdating: $LATEST is still being updated with the uploaded code
	// (LastUpdateStatus InProgress); nothing was published yet.
	StateUpdating = "Updating"
	StateActive   = string(lambdatypes.StateActive)
)

// Publish publishes a version of $LATEST, only when $LATEST holds the
// uploaded code (its CodeSha256; otherwise someone changed it since:
// Conflict). Publishing the same code again returns the same version, so a
// re-run makes none. Its State says whether the state machine must wait
// (Updating, Pending) and run it again, up to Timing.MaxAttempts.
func Publish(ctx context.Context, l Lambda, in Input) (Published, error) {
	loc := in.Located
	if loc == nil {
		return Published{}, steperr.Invalid("publish: the input has no Locate result")
	}
	res := Published{Attempts: 1}
	if prev := in.Published; prev != nil {
		res.Attempts = prev.Attempts + 1
	}
	waiting := func(state string) (Published, error) {
		if res.Attempts >= in.Timing.MaxAttempts {
			return res, steperr.NotReadyYet("the new version of %s is still %s after %d checks", loc.FunctionName, state, res.Attempts)
		}
		res.State = state
		return res, nil
	}

	latest, err := l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(loc.FunctionName)})
	if err != nil {
		return Published{}, fmt.Errorf("get function %s: %w", loc.FunctionName, err)
	}
	cfg := latest.Configuration
	if got := aws.ToString(cfg.CodeSha256); got != in.Request.CodeSha256 {
		return Published{}, steperr.Conflicting("%s's code is %s, not the uploaded %s: it changed since it was uploaded; upload it again",
			loc.FunctionName, got, in.Request.CodeSha256)
	}
	if cfg.LastUpdateStatus == lambdatypes.LastUpdateStatusInProgress {
		return waiting(StateUpdating)
	}
	if cfg.LastUpdateStatus == lambdatypes.LastUpdateStatusFailed {
		return Published{}, &steperr.CheckFailed{Message: fmt.Sprintf("the update of %s with the uploaded code failed: %s",
			loc.FunctionName, aws.ToString(cfg.LastUpdateStatusReason))}
	}

	description := in.Request.Description
	if description == "" {
		description = "autostop update-proxy " + in.Execution
	}
	v, err := l.PublishVersion(ctx, &lambda.PublishVersionInput{
		FunctionName: aws.String(loc.FunctionName), CodeSha256: aws.String(in.Request.CodeSha256), Description: aws.String(description),
	})
	if err != nil {
		return Published{}, fmt.Errorf("publish a version of %s: %w", loc.FunctionName, err)
	}
	res.Version, res.VersionARN, res.CodeSha256 = aws.ToString(v.Version), aws.ToString(v.FunctionArn), aws.ToString(v.CodeSha256)
	action := step.Created
	if res.Version == loc.PreviousVersion {
		action = step.Adopted // the alias runs this code already
	}
	res.Resources = []step.Resource{{Kind: "version", ID: res.VersionARN, Action: action}}
	switch v.State {
	case lambdatypes.StateActive:
		res.State = StateActive
		return res, nil
	case lambdatypes.StateFailed:
		return Published{}, &steperr.CheckFailed{Message: fmt.Sprintf("version %s of %s failed: %s", res.Version, loc.FunctionName, aws.ToString(v.StateReason))}
	}

	return waiting(string(v.State))
}
