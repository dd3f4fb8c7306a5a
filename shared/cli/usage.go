package cli

const usage = `autostop manages AutoStopping on AWS infrastructure you own: an Application
Load Balancer in front of your instances, a proxy function behind its default
rule, and a wildcard DNS record.

Usage:
  autostop lb create -f spec.json [flags]   provision (create or adopt) a load balancer

Run 'autostop lb create --help' for its flags and an example.

Where it talks to: the AWS SDK's standard configuration (AWS_PROFILE,
AWS_REGION, SSO, instance role, ...). AWS_ENDPOINT_URL points it at another
endpoint, such as the local backend ('make up'); --local is a shortcut for that.
`

const lbUsage = `Usage:
  autostop lb create -f spec.json [flags]   provision (create or adopt) a load balancer

Run 'autostop lb create --help' for its flags and an example.
`

const lbCreateUsage = `Usage: autostop lb create -f spec.json [flags]

Provisions the Application Load Balancer a load balancer spec describes: starts
an execution of the autostop-provision-load-balancer state machine (validate,
load balancer, proxy target, certificate, listeners, DNS; a failure rolls back
what the execution created) and shows each step as it happens:

  → EnsureLoadBalancer                  step started
  ✓ EnsureLoadBalancer  0.4s            step done
  ✗ EnsureLoadBalancer: Throttled: …    step failed (retrying, or caught: rollback)

At the end it prints the load balancer's DNS name, the wildcard record, the
certificate, the DNS records to add at another DNS provider and which resources
were created or adopted. Ctrl-C stops watching; the execution goes on.

The spec file is JSON (schema: statemachine/schema/load-balancer-spec.schema.json;
samples, one per path: statemachine/samples/). Unknown fields are errors.

Flags:
  -f, --file FILE             the load balancer spec (JSON); "-" reads stdin (required)
  --state-machine NAME|ARN    the provisioning state machine (default autostop-provision-load-balancer)
  --name NAME                 execution name (default cli-<lb name>-<UTC time>-<random>);
                              letters, digits, - and _, at most 80
  --local                     talk to the local backend: AWS_ENDPOINT_URL=` + LocalEndpoint + `
                              unless set, test credentials unless set, region us-east-1 unless set
  --region REGION             AWS region of the state machine (default: the SDK's, e.g. AWS_REGION)
  --timeout DURATION          stop watching after this long (default 30m; 0: no limit);
                              the execution goes on
  --output text|json          text (default), or json: only the execution's output JSON on
                              stdout (a failure document when it fails), progress on stderr

Exit status: 0 provisioned; 1 the execution failed, timed out or was aborted (or an
AWS call failed, or --timeout passed); 2 bad flags or spec; 130 interrupted.

Example (copy a sample, replace its placeholder IDs with yours):
  cp statemachine/samples/route53-existing-certificate.json web.json
  autostop lb create -f web.json --region eu-west-1

On the local backend (run 'make up' in another shell; its environment's IDs are
printed there):
  autostop lb create --local -f web.json
`
