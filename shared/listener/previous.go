package listener

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Tags that remember, on a listener an execution changed, what it was
// before, so that execution's rollback, or the load balancer's deletion,
// can put it back (an HTTP listener that started redirecting to a new
// HTTPS listener must forward again when that HTTPS listener is deleted).
// They are written before ModifyListener and stay afterwards as a record
// of the last change. Tag values are at most 256 characters, so each part
// has its own tag.
const (
	// ModifiedByKey names the execution that last modified the listener.
	ModifiedByKey        = "autostop:modified-by"
	previousProtocolKey  = "autostop:previous-protocol"
	previousCertKey      = "autostop:previous-certificate"
	previousSSLPolicyKey = "autostop:previous-ssl-policy"
	previousActionKey    = "autostop:previous-action"
)

// PreviousTagKeys are the keys of the tags that record a listener's
// configuration before a change (IAM limits the tagging calls to them).
func PreviousTagKeys() []string {
	return []string{ModifiedByKey, previousProtocolKey, previousCertKey, previousSSLPolicyKey, previousActionKey}
}

// Encoded previous default actions: the two shapes autostop writes.
const (
	actionForward       = "forward"        // "forward <target group ARN>"
	actionRedirectHTTPS = "redirect-https" // autostop's HTTP → HTTPS redirect
	actionUnknown       = "unrestorable"   // anything else: not put back
)

// previousTags describes cur, before execution modifies it, as tags.
func previousTags(cur types.Listener, execution string) map[string]string {
	tags := map[string]string{
		ModifiedByKey:        execution,
		previousProtocolKey:  string(cur.Protocol),
		previousCertKey:      "-",
		previousSSLPolicyKey: "-",
		previousActionKey:    actionUnknown,
	}
	if certs := defaultCertificateARNs(cur.Certificates); len(certs) == 1 {
		tags[previousCertKey] = certs[0]
	}
	if p := aws.ToString(cur.SslPolicy); p != "" {
		tags[previousSSLPolicyKey] = p
	}
	if len(cur.DefaultActions) == 1 {
		a := cur.DefaultActions[0]
		switch targets := forwardTargets(a); {
		case a.Type == types.ActionTypeEnumForward && len(targets) == 1 && sameAction(a, forwardTo(targets[0])):
			tags[previousActionKey] = actionForward + " " + targets[0]
		case sameAction(a, redirectToHTTPS()):
			tags[previousActionKey] = actionRedirectHTTPS
		}
	}

	return tags
}

// previousListener rebuilds, from a listener's tags, the ModifyListener
// call that puts it back. An error says why it cannot be.
func previousListener(arn string, port int32, tags map[string]string) (*elbv2.ModifyListenerInput, error) {
	in := &elbv2.ModifyListenerInput{
		ListenerArn: aws.String(arn),
		Port:        aws.Int32(port),
		Protocol:    types.ProtocolEnum(tags[previousProtocolKey]),
	}
	if c := tags[previousCertKey]; c != "" && c != "-" {
		in.Certificates = []types.Certificate{{CertificateArn: aws.String(c)}}
	}
	if p := tags[previousSSLPolicyKey]; p != "" && p != "-" {
		in.SslPolicy = aws.String(p)
	}
	action := tags[previousActionKey]
	switch kind, target, _ := strings.Cut(action, " "); {
	case kind == actionForward && target != "":
		in.DefaultActions = []types.Action{forwardTo(target)}
	case action == actionRedirectHTTPS:
		in.DefaultActions = []types.Action{redirectToHTTPS()}
	default:
		return nil, fmt.Errorf("listener %s: its previous default action (%q) is not one autostop writes, so it is not put back: set it by hand", arn, action)
	}
	if in.Protocol == "" {
		return nil, fmt.Errorf("listener %s: no previous protocol recorded", arn)
	}

	return in, nil
}

// restoreModifiedBy puts back the listeners of lbARN that execution
// modified (their ModifiedByKey tag), then drops the previous-* tags. An
// empty execution puts back every listener carrying ModifiedByKey, whatever
// execution it names (the DeleteLoadBalancer workflow: see DeleteCreatedBy).
func restoreModifiedBy(ctx context.Context, api ELBv2, listeners []types.Listener, tags map[string]map[string]string, execution string) (restored []string, failed map[string]error) {
	failed = map[string]error{}
	for _, l := range listeners {
		arn := aws.ToString(l.ListenerArn)
		t, ok := tags[arn]
		if !ok || !modifiedBy(t, execution) {
			continue
		}
		in, err := previousListener(arn, aws.ToInt32(l.Port), t)
		if err != nil {
			failed[arn] = err
			continue
		}
		if _, err := api.ModifyListener(ctx, in); err != nil {
			if !isListenerNotFound(err) {
				failed[arn] = fmt.Errorf("restore listener %s: %w", arn, err)
			}
			continue
		}
		if _, err := api.RemoveTags(ctx, &elbv2.RemoveTagsInput{
			ResourceArns: []string{arn},
			TagKeys:      PreviousTagKeys(),
		}); err != nil && !isListenerNotFound(err) {
			failed[arn] = fmt.Errorf("remove the previous-configuration tags of listener %s (it was restored): %w", arn, err)
			continue
		}
		restored = append(restored, arn)
	}

	return restored, failed
}

// modifiedBy reports whether a listener's tags say execution modified it;
// for an empty execution, whether any execution did.
func modifiedBy(tags map[string]string, execution string) bool {
	by, ok := tags[ModifiedByKey]
	if execution == "" {
		return ok
	}

	return ok && by == execution
}
