output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "availability_zones" {
  description = "The two availability zones in use."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "IDs of the public subnets."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (EFS mount targets; ECS tasks when a NAT gateway exists)."
  value       = aws_subnet.private[*].id
}

output "task_subnet_ids" {
  description = "Subnets the ECS tasks run in: private behind NAT, or public when nat_gateway_mode is \"none\"."
  value       = local.use_nat ? aws_subnet.private[*].id : aws_subnet.public[*].id
}

output "assign_public_ip" {
  description = "Whether ECS tasks need a public IP (true when there is no NAT gateway)."
  value       = !local.use_nat
}

output "nat_gateway_ids" {
  description = "IDs of the NAT gateways (empty when nat_gateway_mode is \"none\")."
  value       = aws_nat_gateway.this[*].id
}

output "public_route_table_id" {
  description = "ID of the public route table."
  value       = aws_route_table.public.id
}

output "private_route_table_ids" {
  description = "IDs of the private route tables."
  value       = aws_route_table.private[*].id
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway endpoint."
  value       = aws_vpc_endpoint.s3.id
}

output "ecs_security_group_id" {
  description = "Security group of the ECS tasks."
  value       = aws_security_group.ecs_tasks.id
}

output "efs_security_group_id" {
  description = "Security group of the EFS mount targets (null when EFS is disabled)."
  value       = var.enable_efs ? aws_security_group.efs[0].id : null
}
