export { ComplaintDesk, gradeOf, escalateGrade, type ComplaintInput, type ComplaintActionInput, type ComplaintResult } from './desk.ts';
export { ComplaintStore } from './store.ts';
export { COMPLAINT_FLOW, complaintStep, type ComplaintAction } from './lifecycle.ts';
export * from './model.ts';
export { registerComplaintsApi, ComplaintBody } from './api.ts';
