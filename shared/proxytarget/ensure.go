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
	"github.com/autostop/autostop/shared/pause"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
	"github.com/autostop/autostop/shared/targetgroup"
)

// Resource kinds this step reports.
const (
	KindVersion     = "version"
	KindAlias       = "alias"
	KindTargetGroup = "target-group"
	KindPermission  = "permission" // ID: "<alias ARN>#<statement id>", the shared statement
	// KindLegacyPermission is the load balancer's legacy statement
	// (LegacyStatementID), reported when a run removes it ("deleted") or,
	// having just added the shared one, keeps it for now ("adopted").
	KindLegacyPermission = "legacy-permission"
	KindTarget           = "target" // ID: the alias ARN registered in the target group just before it
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
// "created" when this run made them, "adopted" when they existed. The
// permission (KindPermission, ID "<alias ARN>#autostop_proxy_target_groups")
// is the statement shared by every load balancer of the region: "adopted"
// means it was found as it should be (typically made by another load
// balancer's run), "updated" that a statement of that id granting something
// else was replaced. The load balancer's legacy statement, when there is
// one, is reported as KindLegacyPermission: "deleted" when this run removed
// it, "adopted" when it is kept until the next run.
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

	perm, err := ensurePermission(ctx, c.Lambda, cfg.FunctionName, lb, tg.arn)
	if err != nil {
		return res, err
	}
	add(KindPermission, alias.arn+"#"+SharedStatementID, perm.action)
	permission := len(res.Resources) - 1
	if perm.legacyRemoved {
		add(KindLegacyPermission, alias.arn+"#"+LegacyStatementID(lb), step.Deleted)
	}

	// RegisterTargets answering AccessDenied past the propagation wait (or
	// at once when the statement was there already) may mean that a
	// concurrent rollback removed the shared statement after this run read
	// it (see DeleteCreatedBy): the statement is ensured once more.
	reensure := func(ctx context.Context) error {
		again, err := ensurePermission(ctx, c.Lambda, cfg.FunctionName, lb, tg.arn)
		if err != nil {
			return err
		}
		if again.action != step.Adopted {
			res.Resources[permission].Action = again.action // this run added it (again)
		}
		perm.fresh = perm.fresh || again.fresh
		if again.legacyRemoved && !perm.legacyRemoved {
			perm.legacyRemoved = true
			add(KindLegacyPermission, alias.arn+"#"+LegacyStatementID(lb), step.Deleted)
		}
		perm.legacy = perm.legacy && !again.legacyRemoved
		return nil
	}

	action, err := ensureTarget(ctx, c.ELBv2, tg.arn, alias.arn, perm.fresh, cfg, reensure)
	if err != nil {
		return res, err
	}
	add(KindTarget, alias.arn, action)

	// This load balancer's legacy statement goes once the shared one grants
	// its target group. Only when the shared statement was there before
	// this run: one added now reaches Lambda and Elastic Load Balancing a
	// while later, and the legacy statement is what a load balancer already
	// serving traffic is invoked by meanwhile. It is then kept (reported
	// "adopted") and the load balancer's next run removes it.
	if perm.legacy {
		legacyID := alias.arn + "#" + LegacyStatementID(lb)
		if perm.fresh {
			add(KindLegacyPermission, legacyID, step.Adopted)
			return res, nil
		}
		if err := removeStatement(ctx, c.Lambda, cfg.FunctionName, LegacyStatementID(lb)); err != nil {
			return res, err
		}
		add(KindLegacyPermission, legacyID, step.Deleted)
	}

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

// permissionState is what ensurePermission found or did.
type permissionState struct {
	// action on the shared statement: Created, Updated (a statement of that
	// id granting something else was replaced) or Adopted (found as it
	// should be, or added by a concurrent run meanwhile).
	action string
	// fresh: the statement was added a moment ago (by this run or a
	// concurrent one): Elastic Load Balancing sees it a while later.
	fresh bool
	// legacy: the load balancer's legacy statement is in the policy.
	legacy bool
	// legacyRemoved: it was removed to make room for the shared one (the
	// policy was full).
	legacyRemoved bool
}

// ensurePermission makes the alias's policy hold the shared statement
// (SharedStatementID) for the region and account of target group tgARN:
// find-or-create, no mutating call when it is there and right. A statement
// of that id granting something else is autostop's (the id is fixed) and
// replaced. It also reports whether load balancer lb's legacy statement is
// in the policy; Ensure removes it once the target is registered.
//
// A policy full of legacy statements (20 KB, about 50 load balancers)
// refuses the shared statement with PolicyLengthExceededException: the
// load balancer's own legacy statement is removed to make room (the
// shared statement then grants its target group in its place; until it has
// propagated, seconds, this load balancer's invocations may be refused:
// the price of getting out of a full policy), or, when it has none, the
// step fails with Conflict asking for an existing load balancer to be
// provisioned again first, which frees its room.
func ensurePermission(ctx context.Context, l Lambda, function, lb, tgARN string) (permissionState, error) {
	pattern, account, err := SourceARNPattern(tgARN)
	if err != nil {
		return permissionState{}, err
	}
	pol, err := readPolicy(ctx, l, function)
	if err != nil {
		return permissionState{}, err
	}
	st := permissionState{action: step.Adopted, legacy: pol.find(LegacyStatementID(lb)) != nil}
	current := pol.find(SharedStatementID)
	if current.isShared(pattern, account) {
		return st, nil
	}

	st.action, st.fresh = step.Created, true
	if current != nil {
		if err := removeStatement(ctx, l, function, SharedStatementID); err != nil {
			return permissionState{}, fmt.Errorf("replace permission %s granting something else: %w", SharedStatementID, err)
		}
		st.action = step.Updated
	}

	err = addShared(ctx, l, function, pattern, account)
	if steperr.HasCode(err, codePolicyFull) && st.legacy {
		if err := removeStatement(ctx, l, function, LegacyStatementID(lb)); err != nil {
			return permissionState{}, err
		}
		st.legacy, st.legacyRemoved = false, true
		err = addShared(ctx, l, function, pattern, account)
	}
	switch {
	case steperr.HasCode(err, codePolicyFull):
		return permissionState{}, steperr.Conflicting("the resource policy of %s:%s is full (20 KB) and has no room for the permission %s: "+
			"provision an existing load balancer again first (its run replaces its own statement autostop-<name> with %s), then retry: %v",
			function, AliasName, SharedStatementID, SharedStatementID, err)
	case steperr.HasCode(err, codeLambdaConflict):
		// Added by a concurrent run: fine if it is the same statement.
		stmt, err := findStatement(ctx, l, function, SharedStatementID)
		if err != nil {
			return permissionState{}, err
		}
		if !stmt.isShared(pattern, account) {
			return permissionState{}, steperr.Conflicting("permission %s on %s:%s exists and does not grant %s in account %s", SharedStatementID, function, AliasName, pattern, account)
		}
		st.action = step.Adopted // still fresh: it was added a moment ago
	case err != nil:
		return permissionState{}, err
	}

	return st, nil
}

// addShared adds the shared statement for pattern and account.
func addShared(ctx context.Context, l Lambda, function, pattern, account string) error {
	_, err := l.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName:  aws.String(function),
		Qualifier:     aws.String(AliasName),
		StatementId:   aws.String(SharedStatementID),
		Action:        aws.String(InvokeAction),
		Principal:     aws.String(ELBPrincipal),
		SourceArn:     aws.String(pattern),
		SourceAccount: aws.String(account),
	})
	if err != nil && !steperr.HasCode(err, codeLambdaConflict, codePolicyFull) {
		return fmt.Errorf("add permission %s to %s:%s for %s: %w", SharedStatementID, function, AliasName, pattern, err)
	}

	return err
}

// removeStatement removes statement sid from the alias's policy; one that
// is gone already counts as removed.
func removeStatement(ctx context.Context, l Lambda, function, sid string) error {
	_, err := l.RemovePermission(ctx, &lambda.RemovePermissionInput{
		FunctionName: aws.String(function), Qualifier: aws.String(AliasName), StatementId: aws.String(sid),
	})
	if err != nil && !steperr.HasCode(err, codeLambdaNotFound) {
		return fmt.Errorf("remove permission %s from %s:%s: %w", sid, function, AliasName, err)
	}

	return nil
}

// ensureTarget registers the alias as the target group's only target. A
// Lambda target group holds one function: any other registered target (an
// older alias or version) is deregistered first.
//
// While RegisterTargets answers AccessDenied it is tried again every
// cfg.PermissionPoll, for at most cfg.PermissionWait in all: from the
// start when fresh (the invoke permission was added a moment ago and takes
// a while to reach Elastic Load Balancing), else only after reensure.
// reensure is called once, when RegisterTargets still answers AccessDenied
// with no wait left (at once when not fresh): it puts the statement back if
// a concurrent rollback removed it. Past that, AccessDenied is the step's
// error. The wait stays within cfg.PermissionWait in all, so the step stays
// within its timeout.
func ensureTarget(ctx context.Context, e ELBv2, tgARN, aliasARN string, fresh bool, cfg Config, reensure func(context.Context) error) (string, error) {
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

	waiting, reensured := fresh, false
	deadline := time.Now().Add(cfg.PermissionWait)
	for {
		_, err = e.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
			TargetGroupArn: aws.String(tgARN),
			Targets:        []elbtypes.TargetDescription{{Id: aws.String(aliasARN)}},
		})
		if !steperr.HasCode(err, codeAccessDenied) {
			break
		}
		if !waiting || time.Now().Add(cfg.PermissionPoll).After(deadline) {
			if reensured || reensure == nil {
				break
			}
			reensured = true
			if err := reensure(ctx); err != nil {
				return "", err
			}
			if !waiting {
				// Nothing waited yet: the whole wait is left.
				waiting, deadline = true, time.Now().Add(cfg.PermissionWait)
			}
			continue
		}
		if err := pause.For(ctx, cfg.PermissionPoll); err != nil {
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
		if err := pause.For(ctx, cfg.UpdatePoll); err != nil {
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
