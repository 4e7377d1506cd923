import { applyDecorators } from '@nestjs/common';
import { ApiForbiddenResponse, ApiProperty, ApiResponse, ApiUnauthorizedResponse, ApiTooManyRequestsResponse } from '@nestjs/swagger';

/** The error body every endpoint answers with, as OpenAPI shows it. */
export class ErrorResponse {
  @ApiProperty({ example: 400 }) statusCode!: number;
  @ApiProperty({ example: 'Bad Request' }) error!: string;
  @ApiProperty({ example: 'retention: must not be greater than 1000' }) message!: string;
  @ApiProperty({
    required: false,
    example: [{ field: 'retention', reasons: ['must not be greater than 1000'] }],
    description: 'On validation errors: each bad field and why.',
  })
  details?: { field: string; reasons: string[] }[];
}

/** Responses shared by every protected API controller. */
export const ApiErrorResponses = () =>
  applyDecorators(
    ApiUnauthorizedResponse({ type: ErrorResponse, description: 'Missing or wrong credentials, or a revoked or expired API key.' }),
    ApiForbiddenResponse({ type: ErrorResponse, description: "The caller's role may not use this route (see the route's description)." }),
    ApiTooManyRequestsResponse({ type: ErrorResponse, description: 'Too many failed logins from this client.' }),
    ApiResponse({ status: 415, type: ErrorResponse, description: 'A write whose body is not JSON.' }),
  );
