package app

// UpdateProxyCode is the ID of the proxy code update state machine.
const UpdateProxyCode = "update-proxy-code"

// proxyUpdate is the UpdateProxyCode workflow: one function per step and
// the state machine (statemachine/update-proxy-code.asl.json).
func proxyUpdate() App {
	return App{
		Functions: []Function{
			step("update-locate", "UpdateProxyCode: finds the load balancer's proxy target group and the alias it invokes; read-only", 30, nil),
			step("update-publish", "UpdateProxyCode: publishes a version of the proxy's uploaded code", 30, nil),
			step("update-test-invoke", "UpdateProxyCode: invokes the new version with a sample ALB event", 60, nil),
			step("update-move-alias", "UpdateProxyCode: moves the alias to the new version", 30, nil),
			step("update-verify", "UpdateProxyCode: invokes the target group's target; the new version must answer", 60, nil),
			step("update-move-alias-back", "UpdateProxyCode: puts the alias back on the version it had", 30, nil),
		},
		StateMachines: []StateMachine{{
			ID:      UpdateProxyCode,
			ASLFile: "statemachine/update-proxy-code.asl.json",
			Substitutions: map[string]Value{
				"LocateProxyFunctionArn":    {FunctionARN: "update-locate"},
				"PublishVersionFunctionArn": {FunctionARN: "update-publish"},
				"TestInvokeFunctionArn":     {FunctionARN: "update-test-invoke"},
				"MoveAliasFunctionArn":      {FunctionARN: "update-move-alias"},
				"VerifyTargetFunctionArn":   {FunctionARN: "update-verify"},
				"MoveAliasBackFunctionArn":  {FunctionARN: "update-move-alias-back"},
				// A version is Active seconds after it is published: look
				// every 2 s for a minute (every second for 20 s locally).
				"UpdateWaitSeconds": Timing(2, 1),
				"UpdateMaxAttempts": Timing(30, 20),
			},
		}},
	}
}
