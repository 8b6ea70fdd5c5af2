/** The isolation tests' guest programs live with the campaign that also runs them (studies/campaign/programs.ts). */
export * from '../../../studies/campaign/programs.ts';
