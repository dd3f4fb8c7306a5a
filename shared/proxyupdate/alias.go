package proxyupdate

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// MoveAlias moves the alias to the published version, on the condition
// that it is still at the revision Locate read (a concurrent update fails
// this one: Conflict). A re-run after a move whose answer was lost finds
// the alias on the new version and is done.
func MoveAlias(ctx context.Context, l Lambda, in Input) (Moved, error) {
	loc, pub := in.Located, in.Published
	if loc == nil || pub == nil {
		return Moved{}, steperr.Invalid("move alias: the input has no Locate or Publish result")
	}
	moved := Moved{AliasARN: loc.AliasARN, From: loc.PreviousVersion, To: pub.Version,
		Resources: []step.Resource{{Kind: "alias", ID: loc.AliasARN, Action: step.Updated}}}
	_, err := l.UpdateAlias(ctx, &lambda.UpdateAliasInput{
		FunctionName: aws.String(loc.FunctionName), Name: aws.String(loc.Alias),
		FunctionVersion: aws.String(pub.Version), RevisionId: aws.String(loc.AliasRevisionID),
	})
	if steperr.HasCode(err, "PreconditionFailedException") {
		now, gerr := l.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(loc.FunctionName), Name: aws.String(loc.Alias)})
		if gerr != nil {
			return Moved{}, fmt.Errorf("alias %s changed since it was read; reading it again: %w", loc.AliasARN, gerr)
		}
		if aws.ToString(now.FunctionVersion) == pub.Version {
			return moved, nil
		}
		return Moved{}, steperr.Conflicting("alias %s changed since it was read (another update?): it points at version %s; nothing moved",
			loc.AliasARN, aws.ToString(now.FunctionVersion))
	}
	if err != nil {
		return Moved{}, fmt.Errorf("move alias %s to version %s: %w", loc.AliasARN, pub.Version, err)
	}

	return moved, nil
}

// MoveAliasBack puts the alias back on the version it had, when it still
// points at the version this update published (someone who moved it since
// wins: Conflict, nothing changed).
func MoveAliasBack(ctx context.Context, l Lambda, in Input) (Moved, error) {
	loc, pub := in.Located, in.Published
	if loc == nil || pub == nil {
		return Moved{}, steperr.Invalid("move alias back: the input has no Locate or Publish result")
	}
	now, err := l.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(loc.FunctionName), Name: aws.String(loc.Alias)})
	if err != nil {
		return Moved{}, fmt.Errorf("get alias %s: %w", loc.AliasARN, err)
	}
	moved := Moved{AliasARN: loc.AliasARN, From: aws.ToString(now.FunctionVersion), To: loc.PreviousVersion, Resources: []step.Resource{}}
	switch moved.From {
	case loc.PreviousVersion:
		return moved, nil // it never moved, or a re-run
	case pub.Version:
	default:
		return Moved{}, steperr.Conflicting("alias %s points at version %s, neither the old %s nor the new %s: someone moved it; left as it is",
			loc.AliasARN, moved.From, loc.PreviousVersion, pub.Version)
	}
	if _, err := l.UpdateAlias(ctx, &lambda.UpdateAliasInput{
		FunctionName: aws.String(loc.FunctionName), Name: aws.String(loc.Alias),
		FunctionVersion: aws.String(loc.PreviousVersion), RevisionId: now.RevisionId,
	}); err != nil {
		return Moved{}, fmt.Errorf("move alias %s back to version %s: %w", loc.AliasARN, loc.PreviousVersion, err)
	}
	moved.Resources = []step.Resource{{Kind: "alias", ID: loc.AliasARN, Action: step.Updated}}

	return moved, nil
}
