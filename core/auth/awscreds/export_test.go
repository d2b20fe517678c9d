package awscreds

// ParametersEndpoint returns c's endpoint (tests).
func ParametersEndpoint(c *ParametersClient) string { return c.endpoint }
