import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '../auth/roles';
import { ApiErrorResponses } from '../common/api-docs';
import { ReplicaInfo, ReplicaLeases } from './replica-leases.service';

class ReplicaResponse implements ReplicaInfo {
  @ApiProperty({ example: 'orq-1-7-3fa9c1', description: 'Host name, process id and a random part: new at every start.' })
  id!: string;

  @ApiProperty({ example: 'default', description: 'Its REPLICA_ZONE: it runs the runs of the apps of this zone only.' })
  zone!: string;

  @ApiProperty({ example: '0.1.0' })
  version!: string;

  @ApiProperty({ format: 'date-time' })
  startedAt!: Date;

  @ApiProperty({ format: 'date-time', description: 'Its last renewal of its leases (embedded mode: now).' })
  heartbeatAt!: Date;

  @ApiProperty({ example: 1, description: 'Its runs that are queued or running.' })
  runs!: number;
}

@ApiTags('cluster')
@ApiErrorResponses()
@Controller('api/replicas')
export class ReplicasController {
  constructor(private readonly leases: ReplicaLeases) {}

  @RequireRole('viewer')
  @Get()
  @ApiOkResponse({
    type: [ReplicaResponse],
    description: 'The live replicas (heard from within RUN_LEASE_S / 2, a lease\'s term), oldest first. Embedded mode: this process only.',
  })
  list(): Promise<ReplicaInfo[]> {
    return this.leases.live();
  }
}
