import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

/** The Link response header of every paginated list, as OpenAPI shows it. */
export const LINK_HEADER = {
  Link: {
    description:
      'RFC 8288 links to the neighbouring pages: `</api/...?limit=…&cursor=…>; rel="next"` (and `rel="prev"`), every other ' +
      'query parameter kept. No `rel="next"` on the last page. The body stays a plain array.',
    schema: { type: 'string', example: '</api/apps?limit=100&cursor=PmJpbGxpbmc>; rel="next"' },
  },
};

/** The cursor query parameter every paginated list takes; its meaning is private to the list. */
export class CursorQuery {
  @ApiPropertyOptional({ description: 'Opaque; copy it from the Link header of the previous answer.', example: 'PmJpbGxpbmc' })
  @IsOptional()
  @IsString()
  @MaxLength(1400)
  cursor?: string;
}
