package app

// DeleteLoadBalancer is the ID of the teardown state machine.
const DeleteLoadBalancer = "delete-load-balancer"

// teardown is the DeleteLoadBalancer workflow: one function per step, and
// the state machine that chains them (statemachine/delete-load-balancer.asl.json).
func teardown() App {
	return App{
		Functions: []Function{
			step("delete-find", "DeleteLoadBalancer: finds what autostop has for a load balancer (resources by tag, rules); read-only", 60, rulesTableEnv()),
			step("delete-dns", "DeleteLoadBalancer: deletes the wildcard records whose TXT ownership record is the load balancer's", 60, nil),
			step("delete-listeners", "DeleteLoadBalancer: puts back the listeners autostop changed, deletes those it created", 60, nil),
			step("delete-alb", "DeleteLoadBalancer: deletes the ALB autostop created (never an adopted one) and its security group", 60, nil),
			step("delete-certificates", "DeleteLoadBalancer: deletes the certificates autostop requested and their validation records", 60, nil),
			step("delete-target-groups", "DeleteLoadBalancer: deletes the target groups and, when unused, the proxy's invoke permission", 120, nil),
		},
		StateMachines: []StateMachine{{
			ID:      DeleteLoadBalancer,
			ASLFile: "statemachine/delete-load-balancer.asl.json",
			Substitutions: map[string]Value{
				"FindLoadBalancerFunctionArn":   {FunctionARN: "delete-find"},
				"DeleteDNSFunctionArn":          {FunctionARN: "delete-dns"},
				"DeleteListenersFunctionArn":    {FunctionARN: "delete-listeners"},
				"DeleteLoadBalancerFunctionArn": {FunctionARN: "delete-alb"},
				"DeleteCertificatesFunctionArn": {FunctionARN: "delete-certificates"},
				"DeleteTargetGroupsFunctionArn": {FunctionARN: "delete-target-groups"},
				"DetachRuleArn":                 {StateMachine: DetachRule},
				// A security group the deleted ALB's network interfaces
				// still use, a certificate ACM still counts as in use: tried
				// again every 30 s for 15 minutes (every second for 20 s
				// locally), as the provisioning rollback does.
				"DeleteWaitSeconds": Timing(30, 1),
				"DeleteMaxAttempts": Timing(30, 20),
			},
		}},
	}
}
