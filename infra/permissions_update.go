package main

// updateGrants: the UpdateProxyCode workflow. It reads the load balancer's
// listeners and targets, and only acts on the one proxy function: publish a
// version of the code the operator uploaded, invoke it, move its alias.
var updateGrants = map[string][]Grant{
	"update-locate": {
		{Actions: []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners",
			"elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetHealth"}, Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"lambda:GetAlias"}, Resources: []string{proxyFunction, proxyVersions}, Why: whyProxyVersion},
	},
	"update-publish": {
		{Actions: []string{"lambda:GetFunction", "lambda:PublishVersion"}, Resources: []string{proxyFunction, proxyVersions}, Why: whyProxyVersion},
	},
	"update-test-invoke": {
		{Actions: []string{"lambda:InvokeFunction"}, Resources: []string{proxyFunction, proxyVersions}, Why: whyProxyVersion},
	},
	"update-move-alias": {
		{Actions: []string{"lambda:GetAlias", "lambda:UpdateAlias"}, Resources: []string{proxyFunction, proxyVersions}, Why: whyProxyVersion},
	},
	"update-verify": {
		{Actions: []string{"elasticloadbalancing:DescribeTargetHealth"}, Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"lambda:InvokeFunction"}, Resources: []string{proxyFunction, proxyVersions}, Why: whyProxyVersion},
	},
	"update-move-alias-back": {
		{Actions: []string{"lambda:GetAlias", "lambda:UpdateAlias"}, Resources: []string{proxyFunction, proxyVersions}, Why: whyProxyVersion},
	},
}
