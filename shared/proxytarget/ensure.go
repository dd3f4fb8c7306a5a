package proxytarget

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
	"github.com/autostop/autostop/shared/targetgroup"
)

// Resource kinds this step reports.
const (
	KindVersion     = "version"
	KindAlias       = "alias"
	KindTargetGroup = "target-group"
	KindPermission  = "permission"
	KindTarget      = "target" // ID: the alias ARN registered in the target group just before it
)

// Ensure makes the proxy-manager function's alias "live" the target of the
// load balancer's proxy target group (see the package comment), creating
// only what is missing. A second run with nothing to change makes no
// mutating call.
//
// Reported actions: a target group tagged with this execution is "created"
// (also when a retry of this execution finds it), one of an earlier
// execution of the same load balancer is "adopted" ("updated" when its
// attribute had to be set); the version, alias, permission and target are
// "created" when this run made them, "adopted" when they existed.
//
// Errors: NotFound when the function is missing in the load balancer's
// region; Conflict when a target group of that name exists and is not this
// load balancer's, or is not a Lambda target group.
func Ensure(ctx context.Context, c Clients, cfg Config, in step.Input) (step.ProxyTargetResult, error) {
	cfg = cfg.withDefaults()
	lb, execution := in.Spec.Name, in.Execution
	if lb == "" || execution == "" {
		return step.ProxyTargetResult{}, steperr.Invalid("ensure proxy target: load balancer name and execution are required")
	}

	var res step.ProxyTargetResult
	add := func(kind, id, action string) {
		res.Resources = append(res.Resources, step.Resource{Kind: kind, ID: id, Action: action})
	}

	fn, err := c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(cfg.FunctionName)})
	if steperr.HasCode(err, codeLambdaNotFound) {
		return res, steperr.Missing("proxy function %s not found in %s: it is deployed with the app, in the load balancer's region", cfg.FunctionName, in.Spec.Region)
	}
	if err != nil {
		return res, fmt.Errorf("get proxy function %s: %w", cfg.FunctionName, err)
	}
	res.FunctionARN = aws.ToString(fn.Configuration.FunctionArn)

	// The target group first: a name taken by a foreign target group fails
	// the step before it changes anything.
	tg, err := ensureTargetGroup(ctx, c.ELBv2, lb, execution, in.Spec.Domain, in.Spec.Tags)
	if err != nil {
		return res, err
	}
	res.TargetGroupARN = tg.arn
	add(KindTargetGroup, tg.arn, tg.action)

	alias, err := ensureAlias(ctx, c.Lambda, cfg, fn)
	if err != nil {
		return res, err
	}
	res.Version, res.AliasARN = alias.version, alias.arn
	add(KindVersion, res.FunctionARN+":"+alias.version, alias.versionAction)
	add(KindAlias, alias.arn, alias.aliasAction)

	action, err := ensurePermission(ctx, c.Lambda, cfg.FunctionName, lb, tg.arn)
	if err != nil {
		return res, err
	}
	add(KindPermission, alias.arn+"#"+StatementID(lb), action)
	// A permission added now reaches Elastic Load Balancing a while later:
	// registering the alias waits for it, within bounds.
	propagation := time.Duration(0)
	if action != step.Adopted {
		propagation = cfg.PermissionWait
	}

	if action, err = ensureTarget(ctx, c.ELBv2, tg.arn, alias.arn, propagation, cfg.PermissionPoll); err != nil {
		return res, err
	}
	add(KindTarget, alias.arn, action)

	return res, nil
}

type aliasState struct {
	arn, version               string
	aliasAction, versionAction string
}

// ensureAlias finds the alias "live" (kept where it points), or publishes
// $LATEST (AWS returns the latest version when $LATEST is unchanged since)
// and creates the alias on that version.
func ensureAlias(ctx context.Context, l Lambda, cfg Config, fn *lambda.GetFunctionOutput) (aliasState, error) {
	function, codeSha := cfg.FunctionName, aws.ToString(fn.Configuration.CodeSha256)
	got, err := l.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(function), Name: aws.String(AliasName)})
	if err == nil {
		return aliasState{arn: aws.ToString(got.AliasArn), version: aws.ToString(got.FunctionVersion), aliasAction: step.Adopted, versionAction: step.Adopted}, nil
	}
	if !steperr.HasCode(err, codeLambdaNotFound) {
		return aliasState{}, fmt.Errorf("get alias %s:%s: %w", function, AliasName, err)
	}

	// Which versions exist, to tell a new version from the latest one
	// returned again.
	existing := map[string]bool{}
	pages := lambda.NewListVersionsByFunctionPaginator(l, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(function)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return aliasState{}, fmt.Errorf("list versions of %s: %w", function, err)
		}
		for _, v := range page.Versions {
			existing[aws.ToString(v.Version)] = true
		}
	}

	// A function being created or updated (a deploy of the stack a moment
	// ago) refuses PublishVersion with ResourceConflictException until
	// the update is done: wait for it, then publish what it left.
	if fn, err = waitUpdated(ctx, l, cfg, fn); err != nil {
		return aliasState{}, err
	}
	codeSha = aws.ToString(fn.Configuration.CodeSha256)

	// CodeSha256 guards against publishing code other than what GetFunction saw.
	pub, err := l.PublishVersion(ctx, &lambda.PublishVersionInput{
		FunctionName: aws.String(function),
		CodeSha256:   aws.String(codeSha),
		Description:  aws.String("autostop proxy, published for the load balancers' alias " + AliasName),
	})
	if err != nil {
		return aliasState{}, fmt.Errorf("publish version of %s: %w", function, err)
	}
	st := aliasState{version: aws.ToString(pub.Version), versionAction: step.Created, aliasAction: step.Created}
	if existing[st.version] {
		st.versionAction = step.Adopted
	}

	created, err := l.CreateAlias(ctx, &lambda.CreateAliasInput{
		FunctionName:    aws.String(function),
		Name:            aws.String(AliasName),
		FunctionVersion: aws.String(st.version),
		Description:     aws.String("autostop: the version the load balancers' proxy target groups invoke"),
	})
	if steperr.HasCode(err, codeLambdaConflict) {
		// Another execution created it meanwhile: use it as it is.
		got, err := l.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(function), Name: aws.String(AliasName)})
		if err != nil {
			return aliasState{}, fmt.Errorf("get alias %s:%s after a concurrent create: %w", function, AliasName, err)
		}
		return aliasState{arn: aws.ToString(got.AliasArn), version: aws.ToString(got.FunctionVersion), aliasAction: step.Adopted, versionAction: step.Adopted}, nil
	}
	if err != nil {
		return aliasState{}, fmt.Errorf("create alias %s:%s -> %s: %w", function, AliasName, st.version, err)
	}
	st.arn = aws.ToString(created.AliasArn)

	return st, nil
}

type targetGroupState struct{ arn, action string }

// ensureTargetGroup finds the load balancer's proxy target group by name
// (it must carry the load balancer's tags) or creates it with them and the
// domain tag, sets the domain tag when it is missing or names another
// domain, and turns on multi-value headers when they are off.
func ensureTargetGroup(ctx context.Context, e ELBv2, lb, execution, domain string, userTags map[string]string) (targetGroupState, error) {
	name := TargetGroupName(lb)

	tg, err := targetgroup.Find(ctx, e, name)
	if err != nil {
		return targetGroupState{}, err
	}
	if tg == nil {
		tags := ownership.Tags(lb, execution, userTags)
		if domain != "" {
			tags[ownership.DomainKey] = domain
		}
		elbTags := make([]elbtypes.Tag, 0, len(tags))
		for _, k := range ownership.Keys(tags) {
			elbTags = append(elbTags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
		out, err := e.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name:       aws.String(name),
			TargetType: elbtypes.TargetTypeEnumLambda,
			Tags:       elbTags,
		})
		if steperr.HasCode(err, codeDuplicateTGName) {
			return targetGroupState{}, steperr.Conflicting("target group %s exists with other settings and is not load balancer %s's proxy target group", name, lb)
		}
		if err != nil {
			return targetGroupState{}, fmt.Errorf("create target group %s: %w", name, err)
		}
		if len(out.TargetGroups) == 0 {
			return targetGroupState{}, fmt.Errorf("create target group %s: no target group in the answer", name)
		}
		// CreateTargetGroup returns an existing target group of the same
		// name and settings: the tags below decide whose it is.
		tg = &out.TargetGroups[0]
	}
	arn := aws.ToString(tg.TargetGroupArn)

	if tg.TargetType != elbtypes.TargetTypeEnumLambda {
		return targetGroupState{}, steperr.Conflicting("target group %s (%s) has target type %s, not lambda", name, arn, tg.TargetType)
	}
	tags, err := targetgroup.Tags(ctx, e, arn)
	if err != nil {
		return targetGroupState{}, err
	}
	if !ownership.OwnedByLoadBalancer(tags, lb) {
		return targetGroupState{}, steperr.Conflicting("target group %s (%s) exists and is not autostop's for load balancer %s (tags %s=%q, %s=%q)",
			name, arn, lb, ownership.ManagedByKey, tags[ownership.ManagedByKey], ownership.LoadBalancerKey, tags[ownership.LoadBalancerKey])
	}
	st := targetGroupState{arn: arn, action: step.Adopted}
	if ownership.CreatedBy(tags, lb, execution) {
		st.action = step.Created
	}

	if domain != "" && tags[ownership.DomainKey] != domain {
		_, err := e.AddTags(ctx, &elbv2.AddTagsInput{
			ResourceArns: []string{arn},
			Tags:         []elbtypes.Tag{{Key: aws.String(ownership.DomainKey), Value: aws.String(domain)}},
		})
		if err != nil {
			return targetGroupState{}, fmt.Errorf("tag target group %s with %s=%s: %w", arn, ownership.DomainKey, domain, err)
		}
		if st.action == step.Adopted {
			st.action = step.Updated
		}
	}

	attrs, err := e.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return targetGroupState{}, fmt.Errorf("describe attributes of target group %s: %w", arn, err)
	}
	for _, a := range attrs.Attributes {
		if aws.ToString(a.Key) == MultiValueHeadersAttr && aws.ToString(a.Value) == "true" {
			return st, nil
		}
	}
	_, err = e.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{
		TargetGroupArn: aws.String(arn),
		Attributes:     []elbtypes.TargetGroupAttribute{{Key: aws.String(MultiValueHeadersAttr), Value: aws.String("true")}},
	})
	if err != nil {
		return targetGroupState{}, fmt.Errorf("enable %s on target group %s: %w", MultiValueHeadersAttr, arn, err)
	}
	if st.action == step.Adopted {
		st.action = step.Updated
	}

	return st, nil
}

// ensurePermission makes the alias's policy hold statement autostop-<lb>
// granting the target group's invocations. A statement of that id granting
// something else (another target group ARN) is replaced.
func ensurePermission(ctx context.Context, l Lambda, function, lb, tgARN string) (string, error) {
	sid := StatementID(lb)
	stmt, err := findStatement(ctx, l, function, sid)
	if err != nil {
		return "", err
	}
	if stmt.grants(tgARN) {
		return step.Adopted, nil
	}

	action := step.Created
	if stmt != nil {
		// Statement ids are derived from the load balancer's name, so a
		// stale one (an earlier target group of this name) is ours to replace.
		_, err := l.RemovePermission(ctx, &lambda.RemovePermissionInput{
			FunctionName: aws.String(function), Qualifier: aws.String(AliasName), StatementId: aws.String(sid),
		})
		if err != nil && !steperr.HasCode(err, codeLambdaNotFound) {
			return "", fmt.Errorf("remove stale permission %s from %s:%s: %w", sid, function, AliasName, err)
		}
		action = step.Updated
	}

	_, err = l.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String(function),
		Qualifier:    aws.String(AliasName),
		StatementId:  aws.String(sid),
		Action:       aws.String(InvokeAction),
		Principal:    aws.String(ELBPrincipal),
		SourceArn:    aws.String(tgARN),
	})
	if steperr.HasCode(err, codeLambdaConflict) {
		// Added by a concurrent run: fine if it grants the same thing.
		stmt, err := findStatement(ctx, l, function, sid)
		if err != nil {
			return "", err
		}
		if stmt.grants(tgARN) {
			return step.Adopted, nil
		}
		return "", steperr.Conflicting("permission %s on %s:%s exists and does not grant target group %s", sid, function, AliasName, tgARN)
	}
	if err != nil {
		return "", fmt.Errorf("add permission %s to %s:%s for %s: %w", sid, function, AliasName, tgARN, err)
	}

	return action, nil
}

// ensureTarget registers the alias as the target group's only target. A
// Lambda target group holds one function: any other registered target (an
// older alias or version) is deregistered first.
//
// propagation, when not zero, is how long to keep trying RegisterTargets
// while it answers AccessDenied (the invoke permission was added a moment
// ago), every poll; past it AccessDenied is the step's error.
func ensureTarget(ctx context.Context, e ELBv2, tgARN, aliasARN string, propagation, poll time.Duration) (string, error) {
	health, err := e.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil {
		return "", fmt.Errorf("describe targets of %s: %w", tgARN, err)
	}

	var others []elbtypes.TargetDescription
	registered := false
	for _, d := range health.TargetHealthDescriptions {
		if d.Target == nil || targetgroup.IsLeaving(d) {
			continue
		}
		if aws.ToString(d.Target.Id) == aliasARN {
			registered = true
			continue
		}
		others = append(others, elbtypes.TargetDescription{Id: d.Target.Id})
	}
	if registered && len(others) == 0 {
		return step.Adopted, nil
	}

	action := step.Created
	if len(others) > 0 {
		if _, err := e.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: others}); err != nil {
			return "", fmt.Errorf("deregister other targets from %s: %w", tgARN, err)
		}
		action = step.Updated
	}
	if registered {
		return action, nil
	}

	deadline := time.Now().Add(propagation)
	for {
		_, err = e.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
			TargetGroupArn: aws.String(tgARN),
			Targets:        []elbtypes.TargetDescription{{Id: aws.String(aliasARN)}},
		})
		if !steperr.HasCode(err, "AccessDenied") || time.Now().Add(poll).After(deadline) {
			break
		}
		if err := sleep(ctx, poll); err != nil {
			return "", err
		}
	}
	if err != nil {
		return "", fmt.Errorf("register %s in %s: %w", aliasARN, tgARN, err)
	}

	return action, nil
}

// waitUpdated returns the function once it is Active and its last update
// Successful, reading it again every cfg.UpdatePoll for at most
// cfg.UpdateWait (Lambda: seconds, at most a minute or so); fn as it is
// when it is settled already.
func waitUpdated(ctx context.Context, l Lambda, cfg Config, fn *lambda.GetFunctionOutput) (*lambda.GetFunctionOutput, error) {
	settled := func(c *lambdatypes.FunctionConfiguration) bool {
		return c != nil && c.State != lambdatypes.StatePending &&
			c.LastUpdateStatus != lambdatypes.LastUpdateStatusInProgress
	}
	if settled(fn.Configuration) {
		return fn, nil
	}
	deadline := time.Now().Add(cfg.UpdateWait)
	for {
		if time.Now().After(deadline) {
			return nil, steperr.NotReadyYet("proxy function %s is still being updated (state %s, last update %s) after %v: publish again once the update is done",
				cfg.FunctionName, fn.Configuration.State, fn.Configuration.LastUpdateStatus, cfg.UpdateWait)
		}
		if err := sleep(ctx, cfg.UpdatePoll); err != nil {
			return nil, err
		}
		next, err := l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(cfg.FunctionName)})
		if err != nil {
			return nil, fmt.Errorf("get proxy function %s while it is updated: %w", cfg.FunctionName, err)
		}
		if settled(next.Configuration) {
			return next, nil
		}
		fn = next
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
