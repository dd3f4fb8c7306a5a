// Command attach-validate is AttachRule's first step, ValidateRule: every
// check of the rule before anything is created, with read-only calls (see
// shared/rulevalidate). It returns the rule with its defaults and the load
// balancer, listener and instances the later steps use.
//
// Environment: RULES_TABLE_NAME (required).
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/rulevalidate"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()
	store, err := rulestore.FromEnv(cfg)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	deps := rulevalidate.NewDeps(cfg, store)

	lambda.Start(steperr.Handler(func(ctx context.Context, raw json.RawMessage) (ruledoc.Validated, error) {
		in, detail, err := rulevalidate.Decode(raw)
		var v ruledoc.Validated
		if err == nil {
			v, err = rulevalidate.Validate(ctx, deps, in, detail)
		}
		l := log.With("execution", in.Execution, "rule", detail.Rule.Name, "loadBalancer", detail.LoadBalancer.LoadBalancerName())
		if err != nil {
			l.Error("rule rejected", "error", err.Error())
			return ruledoc.Validated{}, err
		}
		l.Info("rule valid", "host", v.Rule.Host, "loadBalancerArn", v.LoadBalancer.ARN, "listener", v.LoadBalancer.ListenerARN,
			"instances", v.Instances, "existing", v.Existing, "rules", v.Rules)
		return v, nil
	}))
}
