import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CustomerEntity } from './customer.entity';
import { DirectoryService } from './directory.service';
import { StaffMemberEntity } from './staff-member.entity';

@Module({
  imports: [TypeOrmModule.forFeature([CustomerEntity, StaffMemberEntity])],
  providers: [DirectoryService],
  exports: [DirectoryService],
})
export class DirectoryModule {}
